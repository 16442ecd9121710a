package digit

import (
	"fmt"
	"strings"
)

// ramp maps intensity to characters, from background to full ink.
const ramp = " .:-=+*#%@"

// ASCII renders Size×Size row-major pixels (0 background, 255 ink) as text
// art: one line per row, one character per pixel from the ramp " .:-=+*#%@".
// Trailing blanks are trimmed from each line, so the text survives editors
// and gofmt (in an Example's Output, say). It panics if len(pixels) is not
// Size*Size.
func ASCII(pixels []uint8) string {
	if len(pixels) != Size*Size {
		panic(fmt.Sprintf("digit: ASCII: %d pixels, want %d×%d", len(pixels), Size, Size))
	}
	var b strings.Builder
	b.Grow(Size * (Size + 1))
	line := make([]byte, Size)
	for y := range Size {
		for x, v := range pixels[y*Size : (y+1)*Size] {
			line[x] = ramp[int(v)*len(ramp)/256]
		}
		b.Write([]byte(strings.TrimRight(string(line), " ")))
		b.WriteByte('\n')
	}
	return b.String()
}
