package serve

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// TestParseJSON checks the request parser on the forms it accepts, beyond what the
// handler tests send: whitespace, number spellings, escapes, field order.
func TestParseJSON(t *testing.T) {
	px := func(vals ...string) string {
		rest := zeros(Pixels - len(vals))
		return "[" + strings.Join(append(vals, rest), ",") + "]"
	}
	png := base64.StdEncoding.EncodeToString([]byte("\x89PNG fake"))
	tests := []struct {
		name, body  string
		first       []uint8 // the first pixels of instance 0
		instances   int
		batch, ret  bool
		image       string // instance 0's decoded image bytes
		status      int    // of the error, 0 for none
		errContains string
	}{
		{name: "integers", body: `{"pixels":` + px("0", "7", "255") + `}`, first: []uint8{0, 7, 255}, instances: 1},
		{name: "whitespace everywhere", body: " \n{ \"pixels\" :\t" + strings.ReplaceAll(px("1", "2"), ",", " ,\r\n ") + " } \n", first: []uint8{1, 2}, instances: 1},
		{name: "fractions round to nearest", body: `{"pixels":` + px("0.4", "0.5", "254.6", "1e2", "2.5E1", "-0", "0.0") + `}`, first: []uint8{0, 1, 255, 100, 25, 0, 0}, instances: 1},
		{name: "long integer", body: `{"pixels":` + px("0000000001") + `}`, status: 400},
		{name: "many digits", body: `{"pixels":` + px("100.00000000000000000001") + `}`, first: []uint8{100}, instances: 1},
		{name: "return_input first", body: `{"return_input":true,"pixels":` + px("3") + `}`, first: []uint8{3}, instances: 1, ret: true},
		{name: "return_input false", body: `{"pixels":` + px("3") + `,"return_input":false}`, first: []uint8{3}, instances: 1},
		{name: "image data URL", body: `{"image":"data:image/png;base64,` + png + `"}`, instances: 1, image: "\x89PNG fake"},
		{name: "image escaped slash", body: `{"image":"data:image\/png;base64,` + strings.ReplaceAll(base64.StdEncoding.EncodeToString([]byte("??>>??")), "/", `\/`) + `"}`, instances: 1, image: "??>>??"},
		{name: "plain base64", body: `{"image":"` + png + `"}`, instances: 1, image: "\x89PNG fake"},
		{name: "escaped key", body: `{"pix\u0065ls":` + px("9") + `}`, first: []uint8{9}, instances: 1},
		{name: "batch", body: `{"instances":[{"pixels":` + px("5") + `},{"image":"` + png + `"}],"return_input":true}`, first: []uint8{5}, instances: 2, batch: true, ret: true},
		{name: "unterminated string", body: `{"image":"abc`, status: 400, errContains: "unterminated string"},
		{name: "bad escape", body: `{"image":"a\qb"}`, status: 400, errContains: "invalid string"},
		{name: "missing colon", body: `{"pixels" ` + px() + `}`, status: 400, errContains: "want ':'"},
		{name: "unquoted key", body: `{pixels:` + px() + `}`, status: 400, errContains: "field name in double quotes"},
		{name: "missing comma", body: `{"pixels":[1 2]}`, status: 400, errContains: "want ',' or ']'"},
		{name: "trailing comma", body: `{"pixels":[` + zeros(Pixels) + `,]}`, status: 400},
		{name: "plus sign", body: `{"pixels":` + px("+1") + `}`, status: 400, errContains: "invalid number"},
		{name: "Infinity", body: `{"pixels":` + px("Infinity") + `}`, status: 422, errContains: "pixels[0] is Infinity"},
		{name: "tiny", body: `{"pixels":` + px("1e-400") + `}`, first: []uint8{0}, instances: 1},
		{name: "truncated in number", body: `{"pixels":[1.`, status: 400},
		{name: "truncated after key", body: `{"pixels"`, status: 400, errContains: "unexpected end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var j job
			err := j.parseJSON([]byte(tt.body), 8)
			if tt.status != 0 {
				if err == nil || err.status != tt.status || !strings.Contains(err.msg, tt.errContains) {
					t.Fatalf("error %v, want status %d containing %q", err, tt.status, tt.errContains)
				}
				return
			}
			if err != nil {
				t.Fatalf("error %d %q, want none", err.status, err.msg)
			}
			if len(j.inst) != tt.instances || j.batch != tt.batch || j.returnInput != tt.ret {
				t.Errorf("%d instances, batch %v, return_input %v; want %d, %v, %v", len(j.inst), j.batch, j.returnInput, tt.instances, tt.batch, tt.ret)
			}
			in := j.inst[0]
			for i, want := range tt.first {
				if in.pixels[i] != want {
					t.Errorf("pixel %d = %d, want %d", i, in.pixels[i], want)
				}
			}
			if string(in.image) != tt.image {
				t.Errorf("image %q, want %q", in.image, tt.image)
			}
		})
	}
}

// TestJobReuse: a pooled job parses a second request as if it were new.
func TestJobReuse(t *testing.T) {
	var j job
	big := `{"instances":[` + strings.Repeat(`{"pixels":[`+zeros(Pixels)+`]},`, 3) + `{"image":"AAAA"}],"return_input":true}`
	if err := j.parseJSON([]byte(big), 8); err != nil {
		t.Fatal(err)
	}
	j.reset(keepBuffer)
	if err := j.parseJSON([]byte(`{"pixels":[`+zeros(Pixels)+`]}`), 8); err != nil {
		t.Fatal(err)
	}
	if len(j.inst) != 1 || j.batch || j.returnInput || j.inst[0].hasImage || j.inst[0].image != nil {
		t.Errorf("after reuse: %d instances, batch %v, return_input %v, image %v", len(j.inst), j.batch, j.returnInput, j.inst[0].hasImage)
	}
}

// TestParseJSONMatchesEncodingJSON: on random valid requests, the parser reads the same
// values as encoding/json does.
func TestParseJSONMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		body, want := randomPixelsBody(rng)
		var j job
		if err := j.parseJSON(body, 1); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if j.inst[0].pixels != want {
			t.Fatalf("%s: parsed %v, want %v", body, j.inst[0].pixels, want)
		}
	}
}

// randomPixelsBody writes a {"pixels":[…]} body in random number spellings and
// whitespace, and the bytes encoding/json's reading of it rounds to.
func randomPixelsBody(rng *rand.Rand) ([]byte, [Pixels]uint8) {
	var b strings.Builder
	var want [Pixels]uint8
	ws := []string{"", " ", "\n", "\t ", "\r\n"}
	b.WriteString(`{` + ws[rng.IntN(5)] + `"pixels"` + ws[rng.IntN(5)] + ":[")
	for i := range Pixels {
		if i > 0 {
			b.WriteString(ws[rng.IntN(5)] + "," + ws[rng.IntN(5)])
		}
		v := rng.Float64() * 255
		var s string
		switch rng.IntN(4) {
		case 0:
			s = strconv.Itoa(int(v))
		case 1:
			s = strconv.FormatFloat(v, 'f', rng.IntN(6), 64)
		case 2:
			s = strconv.FormatFloat(v, 'e', rng.IntN(8), 64)
		default:
			s = strconv.FormatFloat(v, 'g', -1, 32)
		}
		var f float64
		json.Unmarshal([]byte(s), &f)
		if f > 255 { // rounding in a short spelling: 254.7 as 3e+02
			s, f = "255", 255
		}
		want[i] = uint8(math.Floor(f + 0.5))
		b.WriteString(s)
	}
	b.WriteString("]}")
	return []byte(b.String()), want
}

// FuzzParseJSON: no input makes the parser panic, every rejection is a 4xx with a
// message, and whatever it accepts encoding/json accepts too, with the same pixels.
func FuzzParseJSON(f *testing.F) {
	rng := rand.New(rand.NewPCG(5, 6))
	body, _ := randomPixelsBody(rng)
	f.Add(body)
	f.Add([]byte(`{"instances":[{"pixels":[` + zeros(Pixels) + `]},{"image":"data:image/png;base64,AAAA"}],"return_input":true}`))
	f.Add([]byte(`{"image":"a\u0041\/"}`))
	f.Add([]byte(`{"pixels":[NaN,-Infinity,1e999,-0.5,"x",null]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var j job
		err := j.parseJSON(data, 4)
		if err != nil {
			if err.status < 400 || err.status > 499 || err.msg == "" {
				t.Fatalf("error %d %q", err.status, err.msg)
			}
			return
		}
		var ref struct {
			Pixels      *[]float64 `json:"pixels"`
			Image       *string    `json:"image"`
			ReturnInput *bool      `json:"return_input"`
			Instances   []struct {
				Pixels *[]float64 `json:"pixels"`
				Image  *string    `json:"image"`
			} `json:"instances"`
		}
		if rerr := json.Unmarshal(data, &ref); rerr != nil {
			t.Fatalf("the parser accepted %q, which encoding/json rejects: %v", data, rerr)
		}
		if ref.Pixels != nil && !j.batch {
			for i, v := range *ref.Pixels {
				if want := uint8(math.Floor(v + 0.5)); j.inst[0].pixels[i] != want {
					t.Fatalf("pixel %d: parsed %d, encoding/json reads %v", i, j.inst[0].pixels[i], v)
				}
			}
		}
	})
}
