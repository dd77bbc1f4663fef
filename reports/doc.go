// Package reports will turn plain Go values (maps, images, metric tables) into
// figures with gonum/plot, tables and an index page; it never imports
// TensorFlow. It is filled in by roadmap step [4/6]; see DESIGN.md.
package reports
