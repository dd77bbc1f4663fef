//go:build cgo

package tfgraph

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/encoding/protowire"
)

// checkBundle checks a SavedModel's variables before TensorFlow reads them:
// variables.index must parse, and each data shard it names must exist and
// hold every tensor the index places in it. TensorFlow's own errors for a
// truncated or missing shard do not say which file is at fault; these do.
//
// The index is a TensorBundle: a LevelDB-format table whose "" key holds the
// BundleHeaderProto (the number of shards) and whose other keys map tensor
// names to BundleEntryProtos (shard, offset, size).
func checkBundle(dir string) error {
	vars := filepath.Join(dir, "variables")
	index := filepath.Join(vars, "variables.index")
	raw, err := os.ReadFile(index)
	if err != nil {
		return fmt.Errorf("tfgraph: load %s: %w", dir, err)
	}
	shards, need, err := readBundleIndex(raw)
	if err != nil {
		return fmt.Errorf("tfgraph: load %s: variables/variables.index is corrupt or truncated (%d bytes): %v", dir, len(raw), err)
	}
	for s := 0; s < shards; s++ {
		name := fmt.Sprintf("variables.data-%05d-of-%05d", s, shards)
		st, err := os.Stat(filepath.Join(vars, name))
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("tfgraph: load %s: variables/%s is missing (variables.index lists %d shard(s))", dir, name, shards)
		}
		if err != nil {
			return fmt.Errorf("tfgraph: load %s: %w", dir, err)
		}
		if n := need[s]; st.Size() < n.end {
			return fmt.Errorf("tfgraph: load %s: variables/%s is truncated: %d bytes, but variables.index places %s up to byte %d",
				dir, name, st.Size(), n.tensor, n.end)
		}
	}
	return nil
}

// shardNeed is the end of the last tensor the index places in a shard.
type shardNeed struct {
	end    int64
	tensor string
}

// readBundleIndex returns the number of shards and, per shard, how many bytes
// its tensors need.
func readBundleIndex(raw []byte) (int, map[int]shardNeed, error) {
	const footerLen = 48
	const magic = 0xdb4775248b80fb57
	if len(raw) < footerLen {
		return 0, nil, fmt.Errorf("shorter than a table footer")
	}
	footer := raw[len(raw)-footerLen:]
	if binary.LittleEndian.Uint64(footer[40:]) != magic {
		return 0, nil, fmt.Errorf("no table magic number at the end")
	}
	_, _, n := blockHandle(footer) // the metaindex handle, unused
	if n <= 0 {
		return 0, nil, fmt.Errorf("bad footer")
	}
	ioff, isize, _ := blockHandle(footer[n:])
	index, err := tableBlock(raw, ioff, isize)
	if err != nil {
		return 0, nil, fmt.Errorf("index block: %v", err)
	}
	shards := -1
	need := map[int]shardNeed{}
	for _, e := range index {
		off, size, _ := blockHandle(e.value)
		data, err := tableBlock(raw, off, size)
		if err != nil {
			return 0, nil, fmt.Errorf("data block: %v", err)
		}
		for _, d := range data {
			if d.key == "" {
				shards = 1
				if v, ok := protoVarint(d.value, 1); ok {
					shards = int(v)
				}
				continue
			}
			shard, _ := protoVarint(d.value, 3)
			offset, _ := protoVarint(d.value, 4)
			n, _ := protoVarint(d.value, 5)
			if end := int64(offset + n); end > need[int(shard)].end {
				need[int(shard)] = shardNeed{end: end, tensor: d.key}
			}
		}
	}
	if shards < 1 || shards > 1<<16 {
		return 0, nil, fmt.Errorf("no bundle header")
	}
	return shards, need, nil
}

type tableEntry struct {
	key   string
	value []byte
}

// blockHandle decodes a table BlockHandle (two varints); n is the bytes read,
// 0 or less on a malformed handle.
func blockHandle(b []byte) (offset, size uint64, n int) {
	offset, n1 := binary.Uvarint(b)
	if n1 <= 0 {
		return 0, 0, n1
	}
	size, n2 := binary.Uvarint(b[n1:])
	if n2 <= 0 {
		return 0, 0, n2
	}
	return offset, size, n1 + n2
}

// tableBlock decodes the entries of an uncompressed table block.
func tableBlock(raw []byte, off, size uint64) ([]tableEntry, error) {
	if off+size+5 > uint64(len(raw)) || size < 4 {
		return nil, fmt.Errorf("block at %d+%d beyond the file's %d bytes", off, size, len(raw))
	}
	if raw[off+size] != 0 {
		return nil, fmt.Errorf("compressed block (type %d)", raw[off+size])
	}
	b := raw[off : off+size]
	restarts := binary.LittleEndian.Uint32(b[len(b)-4:])
	end := uint64(len(b)) - 4 - 4*uint64(restarts)
	if end > uint64(len(b)) {
		return nil, fmt.Errorf("bad restart count %d", restarts)
	}
	var out []tableEntry
	var key []byte
	for p := uint64(0); p < end; {
		var v [3]uint64
		for i := range v {
			x, n := binary.Uvarint(b[p:end])
			if n <= 0 {
				return nil, fmt.Errorf("bad entry at %d", p)
			}
			v[i], p = x, p+uint64(n)
		}
		shared, unshared, vlen := v[0], v[1], v[2]
		if shared > uint64(len(key)) || p+unshared+vlen > end {
			return nil, fmt.Errorf("bad entry lengths at %d", p)
		}
		key = append(key[:shared], b[p:p+unshared]...)
		p += unshared
		out = append(out, tableEntry{key: string(key), value: b[p : p+vlen]})
		p += vlen
	}
	return out, nil
}

// protoVarint finds the varint field num of a serialized message.
func protoVarint(b []byte, num protowire.Number) (uint64, bool) {
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return 0, false
		}
		b = b[l:]
		if n == num && typ == protowire.VarintType {
			v, l := protowire.ConsumeVarint(b)
			return v, l >= 0
		}
		l = protowire.ConsumeFieldValue(n, typ, b)
		if l < 0 {
			return 0, false
		}
		b = b[l:]
	}
	return 0, false
}
