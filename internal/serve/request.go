package serve

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
)

// A predict request is an image body, or a JSON object of one of these forms:
//
//	{"pixels": [784 numbers]}                           the 28×28 input itself
//	{"image": "data:image/png;base64,iVBOR…"}           an image, as a data URL or plain base64
//	{"instances": [{"pixels": […]}, {"image": "…"}, …]} a batch of either, at most Options.MaxBatch
//
// and, in the top-level object, "return_input": true to have each prediction carry the
// 784 bytes the network saw (the preprocessed image). Rules:
//
//   - pixels: exactly 784 numbers, row-major, in MNIST polarity: 0 is background, 255 is
//     ink (a white digit on black). Values are in 0..255 and may be fractional; they are
//     rounded to the nearest integer, because that is what the model was trained on.
//     Values in 0..1 are not guessed at: an array whose values are all ≤ 1 is also a
//     valid, very faint 0..255 image, so the server cannot tell; scale them by 255.
//     Anything outside 0..255 is 422, as are NaN and Infinity (which JSON itself does
//     not have, but some encoders write).
//   - image: bytes of a PNG, JPEG or GIF, preprocessed exactly like an image body.
//   - A field the server does not know is an error (400), so a typo such as "pixel" is
//     reported rather than ignored; so is a field given twice.
//
// The parser below is specific to this shape: one pass over the body, no reflection,
// and no allocation for the common {"pixels":[…]} request (encoding/json spends more
// time on 784 numbers than the network spends on the prediction). Structural mistakes
// are 400 with the byte offset; well-formed but unusable values are 422.

// job is one predict request's working memory, reused through Server.jobs.
type job struct {
	body        []byte
	inst        []instance // len is the request's instance count
	batch       bool       // answer {"predictions":[…]}
	returnInput bool
	read        bool   // POST /v1/read: read the number in one image
	out         []byte // the answer
}

// instance is one image to predict.
type instance struct {
	hasPixels, hasImage bool
	pixels              [Pixels]uint8 // given, or preprocessed from image
	image               []byte        // image bytes: part of the body, or decoded base64 in buf
	buf                 []byte
	parts               int  // ink groups side by side in the image (digit.Result.Parts)
	noInk               bool // the image is a blank page
}

// next appends an instance slot, reusing the slot's buffers from earlier requests.
func (j *job) next() *instance {
	if len(j.inst) < cap(j.inst) {
		j.inst = j.inst[:len(j.inst)+1]
	} else {
		j.inst = append(j.inst, instance{})
	}
	in := &j.inst[len(j.inst)-1]
	in.hasPixels, in.hasImage, in.image, in.parts, in.noInk = false, false, nil, 0, false
	return in
}

// reset readies j for a new request; buffers larger than keep bytes are dropped so one
// huge request does not pin memory in the pool.
func (j *job) reset(keep int) {
	if cap(j.body) > keep {
		j.body = nil
	}
	for i := range j.inst[:cap(j.inst)] {
		if in := &j.inst[:cap(j.inst)][i]; cap(in.buf) > keep {
			in.buf = nil
		}
	}
	j.inst, j.batch, j.returnInput, j.read, j.out = j.inst[:0], false, false, false, j.out[:0]
}

// parseJSON reads a JSON request body into j.
func (j *job) parseJSON(data []byte, maxBatch int) *apiError {
	p := parser{data: data}
	p.ws()
	if p.pos == len(data) {
		return errorf(http.StatusBadRequest, "empty body: want a JSON object such as {\"pixels\":[…784 numbers…]}")
	}
	if !p.eat('{') {
		return p.syntax("want a JSON object such as {\"pixels\":[…]}, {\"image\":\"data:…\"} or {\"instances\":[…]}")
	}
	var single *instance
	seenInstances, seenReturn := false, false
	for first := true; ; first = false {
		p.ws()
		if first && p.eat('}') {
			break
		}
		key, err := p.key()
		if err != nil {
			return err
		}
		switch string(key) {
		case "pixels", "image":
			if seenInstances {
				return errorf(http.StatusUnprocessableEntity, "give either \"instances\" or a single %q, not both", key)
			}
			if single == nil {
				single = j.next()
			}
			if err := p.field(single, key, -1); err != nil {
				return err
			}
		case "instances":
			if single != nil {
				return errorf(http.StatusUnprocessableEntity, "give either \"instances\" or a single \"pixels\"/\"image\", not both")
			}
			if seenInstances {
				return duplicate(key, -1)
			}
			seenInstances = true
			if err := p.instances(j, maxBatch); err != nil {
				return err
			}
		case "return_input":
			if seenReturn {
				return duplicate(key, -1)
			}
			seenReturn = true
			switch {
			case p.literal("true"):
				j.returnInput = true
			case p.literal("false"):
			default:
				return p.typeError("return_input", "true or false")
			}
		default:
			return errorf(http.StatusBadRequest, "unknown field %s: want pixels, image, instances or return_input", quoteKey(key))
		}
		p.ws()
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			break
		}
		return p.syntax("want ',' or '}' after a field")
	}
	p.ws()
	if p.pos != len(data) {
		return p.syntax("unexpected data after the JSON object")
	}
	switch {
	case seenInstances:
		j.batch = true
	case single == nil:
		return errorf(http.StatusUnprocessableEntity, "nothing to predict: want \"pixels\", \"image\" or \"instances\"")
	case single.hasPixels && single.hasImage:
		return errorf(http.StatusUnprocessableEntity, "give either \"pixels\" or \"image\", not both")
	}
	return nil
}

// instances reads the batch array.
func (p *parser) instances(j *job, maxBatch int) *apiError {
	if !p.eat('[') {
		return p.typeError("instances", "an array of objects like {\"pixels\":[…]} or {\"image\":\"…\"}")
	}
	p.ws()
	if p.eat(']') {
		return errorf(http.StatusUnprocessableEntity, "instances is empty: want at least one")
	}
	for i := 0; ; i++ {
		if i == maxBatch {
			return errorf(http.StatusUnprocessableEntity, "instances: more than %d, the batch limit", maxBatch)
		}
		p.ws()
		if !p.eat('{') {
			return p.typeError(fmt.Sprintf("instances[%d]", i), "an object like {\"pixels\":[…]} or {\"image\":\"…\"}")
		}
		in := j.next()
		for first := true; ; first = false {
			p.ws()
			if first && p.eat('}') {
				break
			}
			key, err := p.key()
			if err != nil {
				return err
			}
			switch string(key) {
			case "pixels", "image":
				if err := p.field(in, key, i); err != nil {
					return err
				}
			default:
				return errorf(http.StatusBadRequest, "instances[%d]: unknown field %s: want pixels or image", i, quoteKey(key))
			}
			p.ws()
			if p.eat(',') {
				continue
			}
			if p.eat('}') {
				break
			}
			return p.syntax("want ',' or '}' after a field")
		}
		switch {
		case in.hasPixels && in.hasImage:
			return errorf(http.StatusUnprocessableEntity, "instances[%d]: give either \"pixels\" or \"image\", not both", i)
		case !in.hasPixels && !in.hasImage:
			return errorf(http.StatusUnprocessableEntity, "instances[%d]: want \"pixels\" or \"image\"", i)
		}
		p.ws()
		if p.eat(',') {
			continue
		}
		if p.eat(']') {
			return nil
		}
		return p.syntax("want ',' or ']' after an instance")
	}
}

// field reads the value of "pixels" or "image" into in; i is the instance's index in a
// batch, or -1.
func (p *parser) field(in *instance, key []byte, i int) *apiError {
	if string(key) == "pixels" {
		if in.hasPixels {
			return duplicate(key, i)
		}
		in.hasPixels = true
		return p.pixels(&in.pixels, i)
	}
	if in.hasImage {
		return duplicate(key, i)
	}
	in.hasImage = true
	return p.image(in, i)
}

func duplicate(key []byte, i int) *apiError {
	return errorf(http.StatusBadRequest, "%sfield %s given twice", prefix(i), quoteKey(key))
}

// prefix is "instances[i]: " for an instance of a batch.
func prefix(i int) string {
	if i < 0 {
		return ""
	}
	return fmt.Sprintf("instances[%d]: ", i)
}

// name is the path of a field in error messages: pixels, or instances[3].pixels.
func name(field string, i int) string {
	if i < 0 {
		return field
	}
	return fmt.Sprintf("instances[%d].%s", i, field)
}

// pixels reads an array of exactly Pixels numbers in 0..255, rounded to bytes.
func (p *parser) pixels(dst *[Pixels]uint8, i int) *apiError {
	if !p.eat('[') {
		return p.typeError(name("pixels", i), "an array of 784 numbers in 0..255")
	}
	n := 0
	p.ws()
	if !p.eat(']') {
		for {
			p.ws()
			v, kind := p.number()
			switch kind {
			case numNaN:
				return errorf(http.StatusUnprocessableEntity, "%s[%d] is %s: want a number in 0..255", name("pixels", i), n, p.word())
			case numNotNumber:
				return p.typeError(fmt.Sprintf("%s[%d]", name("pixels", i), n), "a number in 0..255")
			case numSyntax:
				return p.syntax("invalid number")
			}
			if !(v >= 0 && v <= 255) {
				return errorf(http.StatusUnprocessableEntity, "%s[%d] = %v is outside 0..255 (0 background, 255 ink)", name("pixels", i), n, v)
			}
			if n < Pixels {
				dst[n] = uint8(v + 0.5)
			}
			n++
			p.ws()
			if p.eat(',') {
				continue
			}
			if p.eat(']') {
				break
			}
			return p.syntax("want ',' or ']' after an array element")
		}
	}
	if n != Pixels {
		return errorf(http.StatusUnprocessableEntity, "%s has %d values, want %d (28×28, row-major)", name("pixels", i), n, Pixels)
	}
	return nil
}

// image reads a data URL or plain base64 string into in.image.
func (p *parser) image(in *instance, i int) *apiError {
	field := name("image", i)
	if p.pos >= len(p.data) || p.data[p.pos] != '"' {
		return p.typeError(field, "a string: a data URL (data:image/png;base64,…) or base64")
	}
	s, err := p.str()
	if err != nil {
		return err
	}
	if rest, ok := bytes.CutPrefix(s, []byte("data:")); ok {
		meta, data, ok := bytes.Cut(rest, []byte(","))
		if !ok {
			return errorf(http.StatusBadRequest, "%s: a data URL without the ',' before its data", field)
		}
		mediaType, ok := bytes.CutSuffix(meta, []byte(";base64"))
		if !ok {
			return errorf(http.StatusUnprocessableEntity, "%s: the data URL must be base64 (data:image/png;base64,…)", field)
		}
		switch string(bytes.ToLower(mediaType)) {
		case "", "image/png", "image/jpeg", "image/jpg", "image/gif":
		default:
			return errorf(http.StatusUnprocessableEntity, "%s: a data URL of type %q: want image/png, image/jpeg or image/gif", field, mediaType)
		}
		s = data
	}
	enc := base64.StdEncoding
	if len(s)%4 != 0 {
		enc = base64.RawStdEncoding // padding left off
	}
	n := enc.DecodedLen(len(s))
	if cap(in.buf) < n {
		in.buf = make([]byte, n)
	}
	m, derr := enc.Decode(in.buf[:n], s)
	if derr != nil {
		var ce base64.CorruptInputError
		if errors.As(derr, &ce) {
			return errorf(http.StatusBadRequest, "%s: invalid base64 at character %d", field, int64(ce))
		}
		return errorf(http.StatusBadRequest, "%s: invalid base64: %v", field, derr)
	}
	if m == 0 {
		return errorf(http.StatusUnprocessableEntity, "%s is empty", field)
	}
	in.image = in.buf[:m]
	return nil
}

// parser reads JSON from data; pos is the next byte.
type parser struct {
	data []byte
	pos  int
}

func (p *parser) ws() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) eat(c byte) bool {
	if p.pos < len(p.data) && p.data[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

func (p *parser) literal(s string) bool {
	if bytes.HasPrefix(p.data[p.pos:], []byte(s)) {
		p.pos += len(s)
		return true
	}
	return false
}

// key reads an object key and the ':' after it.
func (p *parser) key() ([]byte, *apiError) {
	if p.pos >= len(p.data) || p.data[p.pos] != '"' {
		return nil, p.syntax("want a field name in double quotes")
	}
	k, err := p.str()
	if err != nil {
		return nil, err
	}
	p.ws()
	if !p.eat(':') {
		return nil, p.syntax("want ':' after a field name")
	}
	p.ws()
	return k, nil
}

// str reads a string at p.pos (a '"'), returning its contents. A string without
// escapes is returned in place; one with escapes is decoded by encoding/json, which
// also validates them.
func (p *parser) str() ([]byte, *apiError) {
	start := p.pos + 1
	escaped := false
	for i := start; i < len(p.data); i++ {
		switch c := p.data[i]; {
		case c == '"':
			if !escaped {
				p.pos = i + 1
				return p.data[start:i], nil
			}
			var s string
			if err := json.Unmarshal(p.data[start-1:i+1], &s); err != nil {
				return nil, p.syntax("invalid string: " + err.Error())
			}
			p.pos = i + 1
			return []byte(s), nil
		case c == '\\':
			escaped = true
			i++ // the escaped character, which may be a '"'
		case c < 0x20:
			p.pos = i
			return nil, p.syntax("control character in a string (escape it, e.g. \\n)")
		}
	}
	return nil, p.syntax("unterminated string")
}

const (
	numOK = iota
	numNaN
	numNotNumber
	numSyntax
)

// number reads a JSON number. Small non-negative integers, every pixel of a typical
// request, take the fast path; the rest goes through the JSON grammar and
// strconv.ParseFloat. A value too large for a float64 is ±Inf (and out of range).
func (p *parser) number() (float64, int) {
	d, i := p.data, p.pos
	if i < len(d) && d[i] >= '1' && d[i] <= '9' || i < len(d) && d[i] == '0' {
		x, j := 0, i
		for j < len(d) && d[j] >= '0' && d[j] <= '9' && j-i < 9 {
			x = x*10 + int(d[j]-'0')
			j++
		}
		if (d[i] != '0' || j == i+1) && (j == len(d) || !isNumberByte(d[j])) {
			p.pos = j
			return float64(x), numOK
		}
	}
	start := i
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		if i < len(d) && (d[i] == 'N' || d[i] == 'I') {
			return 0, numNaN
		}
		if i == start && i < len(d) && bytes.IndexByte([]byte(`"tfn[{`), d[i]) >= 0 {
			return 0, numNotNumber
		}
		return 0, numSyntax
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			p.pos = i
			return 0, numSyntax
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			p.pos = i
			return 0, numSyntax
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	v, err := strconv.ParseFloat(string(d[start:i]), 64)
	if err != nil && !math.IsInf(v, 0) {
		p.pos = start
		return 0, numSyntax
	}
	p.pos = i
	return v, numOK
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E'
}

// word is the token at p.pos, for messages: NaN, Infinity, -Infinity.
func (p *parser) word() string {
	i := p.pos
	for i < len(p.data) && i-p.pos < 12 && bytes.IndexByte([]byte(" \t\r\n,]}"), p.data[i]) < 0 {
		i++
	}
	return string(p.data[p.pos:i])
}

// syntax is a 400 naming the byte offset.
func (p *parser) syntax(msg string) *apiError {
	if p.pos >= len(p.data) {
		return errorf(http.StatusBadRequest, "malformed JSON: unexpected end of the body (byte %d): %s", p.pos, msg)
	}
	return errorf(http.StatusBadRequest, "malformed JSON at byte %d (%q): %s", p.pos, p.data[p.pos:min(p.pos+8, len(p.data))], msg)
}

// typeError is a 400 for a value of the wrong JSON type.
func (p *parser) typeError(field, want string) *apiError {
	got := "nothing"
	if p.pos < len(p.data) {
		switch c := p.data[p.pos]; {
		case c == '"':
			got = "a string"
		case c == 't' || c == 'f':
			got = "a boolean"
		case c == 'n':
			got = "null"
		case c == '[':
			got = "an array"
		case c == '{':
			got = "an object"
		case c == '-' || c >= '0' && c <= '9':
			got = "a number"
		default:
			return p.syntax(fmt.Sprintf("%s: want %s", field, want))
		}
	}
	return errorf(http.StatusBadRequest, "%s: want %s, got %s", field, want, got)
}

// quoteKey quotes a field name for a message, shortened if long.
func quoteKey(k []byte) string {
	if len(k) > 40 {
		return strconv.Quote(string(k[:40]) + "…")
	}
	return strconv.Quote(string(k))
}
