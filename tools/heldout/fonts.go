package main

// The handwriting fonts, in two groups that must never mix: held-out faces, only
// ever drawn into evaluation sets, and training faces, which augmentation may use.
// The split is SOURCES.md §4; TestFontGroupsDisjoint keeps
// them apart.

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/digitnet/digitnet/internal/synth"
)

// face is a font file of a Debian package. The file is looked up by name (either
// extension: a package may ship .ttf in one release and .otf in another).
type face struct{ pkg, file string }

// heldOutFaces: six people's hands of fonts-bwht, Kristi's felt tip, Nanum Pen.
var heldOutFaces = []face{
	{"fonts-bwht", "BecauseWeBuild-Regular.otf"},
	{"fonts-bwht", "BecauseWeConnect-Regular.otf"},
	{"fonts-bwht", "BecauseWeCreate-Regular.otf"},
	{"fonts-bwht", "BecauseWeLearn-Regular.otf"},
	{"fonts-bwht", "BecauseWeMentor-Regular.otf"},
	{"fonts-bwht", "BecauseWeOrganize-Regular.otf"},
	{"fonts-kristi", "Kristi.ttf"},
	{"fonts-nanum-extra", "NanumPen.ttf"},
}

// trainingFaces: the other handwriting and semi-handwriting faces of the notes.
// breipfont.ttf (same design as Breip.ttf) and the too-regular NanumBarunpen are
// left out.
var trainingFaces = []face{
	{"fonts-breip", "Breip.ttf"},
	{"fonts-dkg-handwriting", "dkg.ttf"},
	{"fonts-dkg-handwriting", "dkgBd.ttf"},
	{"fonts-dkg-handwriting", "dkgIt.ttf"},
	{"fonts-sjfonts", "SteveHand.ttf"},
	{"fonts-sjfonts", "Delphine.ttf"},
	{"fonts-tomsontalks", "TomsonTalks.ttf"},
	{"fonts-humor-sans", "Humor-Sans.ttf"},
	{"fonts-navilu", "Navilu.ttf"},
	{"fonts-tlwg-purisa-ttf", "Purisa.ttf"},
	{"fonts-tlwg-purisa-ttf", "Purisa-Oblique.ttf"},
	{"fonts-tlwg-purisa-ttf", "Purisa-Bold.ttf"},
	{"fonts-kaushanscript", "KaushanScript-Regular.otf"},
	{"fonts-yusei-magic", "YuseiMagic-Regular.ttf"},
	{"fonts-dancingscript", "DancingScript-Regular.otf"},
	{"fonts-rufscript", "Rufscript010.ttf"},
	{"fonts-havana", "Havana-Regular.otf"},
	{"fonts-klee", "KleeOne-Regular.ttf"},
	{"fonts-klee", "KleeOne-SemiBold.ttf"},
	{"fonts-kiloji", "kiloji.ttf"},
	{"fonts-seto", "setofont.ttf"},
	{"fonts-nanum-extra", "NanumBrush.ttf"},
}

// loadedFace is a face found and parsed.
type loadedFace struct {
	face
	path string
	font *synth.Font
}

// fontIndex maps a font file's name without extension, lower case, to its path,
// for every .ttf and .otf under dir.
func fontIndex(dir string) (map[string]string, error) {
	idx := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		ext := strings.ToLower(filepath.Ext(p))
		if !d.IsDir() && (ext == ".ttf" || ext == ".otf") {
			key := strings.ToLower(strings.TrimSuffix(d.Name(), filepath.Ext(d.Name())))
			if _, dup := idx[key]; !dup { // WalkDir is in lexical order: the first wins
				idx[key] = p
			}
		}
		return nil
	})
	return idx, err
}

// loadFaces finds and parses faces; those missing or unreadable are reported in
// missing ("package file: why").
func loadFaces(faces []face, idx map[string]string) (found []loadedFace, missing []string) {
	for _, f := range faces {
		key := strings.ToLower(strings.TrimSuffix(f.file, filepath.Ext(f.file)))
		p, ok := idx[key]
		if !ok {
			missing = append(missing, fmt.Sprintf("%s %s: not installed", f.pkg, f.file))
			continue
		}
		font, err := synth.LoadFont(p)
		if err != nil {
			missing = append(missing, fmt.Sprintf("%s %s: %v", f.pkg, f.file, err))
			continue
		}
		found = append(found, loadedFace{f, p, font})
	}
	return found, missing
}

// packages returns the Debian packages of faces, each once, in order.
func packages(faces []face) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range faces {
		if !seen[f.pkg] {
			seen[f.pkg] = true
			out = append(out, f.pkg)
		}
	}
	return out
}
