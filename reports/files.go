package reports

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/saliencykit/saliency/internal/fsys"
	"github.com/saliencykit/saliency/tensor"
)

// WriteNpy writes t to path as a NumPy .npy file (format 1.0, dtype '<f4',
// C order), byte for byte what numpy.save (NumPy 2) writes for the same
// float32 array, readable by numpy.load and npyio. The file is written atomically: a temporary file in
// the same folder, renamed over path when complete.
func WriteNpy(path string, t *tensor.Tensor) error {
	if t == nil {
		return fmt.Errorf("reports: write %s: nil tensor", path)
	}
	if err := t.Check(); err != nil {
		return fmt.Errorf("reports: write %s: %w", path, err)
	}
	return writeAtomic(path, func(w io.Writer) error {
		if _, err := w.Write(npyHeader(t.Shape)); err != nil {
			return err
		}
		buf := make([]byte, 4*4096)
		for data := t.Data; len(data) > 0; {
			n := min(len(data), 4096)
			for i, v := range data[:n] {
				binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
			}
			if _, err := w.Write(buf[:4*n]); err != nil {
				return err
			}
			data = data[n:]
		}
		return nil
	})
}

// npyHeader is the .npy 1.0 header of a little-endian float32 array of the
// given shape, as numpy.lib.format writes it: magic, version, header length,
// the dictionary, spare spaces so that the first dimension may grow to 21
// digits in place, then spaces and a newline up to a multiple of 64 bytes.
func npyHeader(shape []int) []byte {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = strconv.Itoa(d)
	}
	tuple := "(" + strings.Join(dims, ", ") + ")"
	if len(shape) == 1 {
		tuple = "(" + dims[0] + ",)"
	}
	dict := "{'descr': '<f4', 'fortran_order': False, 'shape': " + tuple + ", }"
	if len(shape) > 0 {
		const growthDigits = 21 // numpy.lib.format.GROWTH_AXIS_MAX_DIGITS
		dict += strings.Repeat(" ", max(growthDigits-len(dims[0]), 0))
	}
	const prefix = 10 // magic (6), version (2), header length (2)
	pad := 64 - (prefix+len(dict)+1)%64
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	_ = binary.Write(&b, binary.LittleEndian, uint16(len(dict)+pad+1))
	b.WriteString(dict)
	b.WriteString(strings.Repeat(" ", pad))
	b.WriteByte('\n')
	return b.Bytes()
}

// WritePNG writes img to path as a PNG, atomically (a temporary file in the
// same folder, renamed over path when complete).
func WritePNG(path string, img image.Image) error {
	if img == nil {
		return fmt.Errorf("reports: write %s: nil image", path)
	}
	return writeAtomic(path, func(w io.Writer) error { return pngEncoder.Encode(w, img) })
}

// WriteJSON writes v to path as JSON indented by two spaces with a trailing
// newline, atomically (a temporary file in the same folder, renamed over
// path when complete).
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("reports: write %s: %w", path, err)
	}
	b = append(b, '\n')
	return writeAtomic(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// WriteFile writes data to path atomically (a temporary file in the same
// folder, renamed over path when complete).
func WriteFile(path string, data []byte) error {
	return writeAtomic(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// writeAtomic writes a file through a temporary file in the same folder,
// renamed over path only when write and close have succeeded, so a reader
// never sees a partial file. The file gets mode 0644.
func writeAtomic(path string, write func(io.Writer) error) (err error) {
	dir, name := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := fsys.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return fmt.Errorf("reports: write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("reports: write %s: %w", path, err)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<16)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
