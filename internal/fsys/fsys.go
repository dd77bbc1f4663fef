// Package fsys is the one door through which saliency creates output files
// (reports' atomic writers), so that tests can make it fail the way a full
// disk or a read-only folder does.
package fsys

import (
	"io"
	"os"
)

// File is what an atomic writer needs of a temporary file.
type File interface {
	io.Writer
	Name() string
	Chmod(mode os.FileMode) error
	Close() error
}

// CreateTemp creates a temporary file as os.CreateTemp does. Tests replace it
// (and restore it) to inject faults; nothing else should.
var CreateTemp = func(dir, pattern string) (File, error) { return os.CreateTemp(dir, pattern) }
