package methods

import "context"

// ProgressFunc receives the progress of a long method: done of total units
// (chunks, steps) finished.
type ProgressFunc func(done, total int)

type progressKey struct{}

// WithProgress returns a context whose methods report their progress to f.
func WithProgress(ctx context.Context, f ProgressFunc) context.Context {
	return context.WithValue(ctx, progressKey{}, f)
}

// report tells the context's ProgressFunc, if any, that done of total units
// are finished.
func report(ctx context.Context, done, total int) {
	if f, ok := ctx.Value(progressKey{}).(ProgressFunc); ok && f != nil {
		f(done, total)
	}
}
