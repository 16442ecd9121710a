package idx_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/digitnet/digitnet/idx"
)

func Example() {
	// Two 2x3 uint8 "images", as MNIST stores its pixels.
	in := &idx.Array{Type: idx.Uint8, Dims: []int{2, 2, 3}, Data: []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}}
	var buf bytes.Buffer
	if err := idx.Encode(&buf, in); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("header % x\n", buf.Bytes()[:16])

	a, err := idx.Decode(&buf, idx.DefaultLimits)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(a.Type, a.Dims, a.Data[6:12])

	// A file cut short names the offset where it ends.
	_, err = idx.Decode(bytes.NewReader([]byte{0, 0, 8, 3, 0, 0}), idx.DefaultLimits)
	fmt.Println(err)
	fmt.Println(errors.Is(err, io.ErrUnexpectedEOF))
	// Output:
	// header 00 00 08 03 00 00 00 02 00 00 00 02 00 00 00 03
	// uint8 [2 2 3] [6 7 8 9 10 11]
	// idx: offset 6: unexpected EOF in header
	// true
}
