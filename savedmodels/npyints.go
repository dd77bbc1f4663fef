package savedmodels

import "fmt"

// ReadNpyIntArray reads an integer .npy file of any shape in C order
// (int8 to int64, unsigned up to uint32): its shape and values.
func ReadNpyIntArray(path string) ([]int, []int, error) {
	r, closer, err := openNpy(path)
	if err != nil {
		return nil, nil, err
	}
	defer closer()
	shape := append([]int(nil), r.Header.Descr.Shape...)
	var out []int
	read := func(v any) error {
		if err := r.Read(v); err != nil {
			return fmt.Errorf("savedmodels: %s: %w", path, err)
		}
		return nil
	}
	switch dtype(r.Header.Descr.Type) {
	case "|i1", "<i1":
		var v []int8
		err = read(&v)
		for _, x := range v {
			out = append(out, int(x))
		}
	case "|u1", "<u1":
		var v []uint8
		err = read(&v)
		for _, x := range v {
			out = append(out, int(x))
		}
	case "<i2":
		var v []int16
		err = read(&v)
		for _, x := range v {
			out = append(out, int(x))
		}
	case "<u2":
		var v []uint16
		err = read(&v)
		for _, x := range v {
			out = append(out, int(x))
		}
	case "<i4":
		var v []int32
		err = read(&v)
		for _, x := range v {
			out = append(out, int(x))
		}
	case "<u4":
		var v []uint32
		err = read(&v)
		for _, x := range v {
			out = append(out, int(x))
		}
	case "<i8":
		var v []int64
		err = read(&v)
		for _, x := range v {
			out = append(out, int(x))
		}
	default:
		return nil, nil, fmt.Errorf("savedmodels: %s: dtype %s, want an integer type", path, dtype(r.Header.Descr.Type))
	}
	if err != nil {
		return nil, nil, err
	}
	return shape, out, nil
}
