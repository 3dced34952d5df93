package debugproto

// Murmur2 is the 32-bit MurmurHash2 of data (x86, little-endian words) with
// seed: the hash JupyterLab's debugger (packages/debugger/src/hash.ts) and
// ipykernel (ipykernel/compiler.py, murmur2_x86) compute over a cell's
// UTF-8 code to name its temporary file. Both must agree bit for bit, or a
// breakpoint set in the browser never matches the file the kernel compiled.
func Murmur2(data []byte, seed uint32) uint32 {
	const m = 0x5bd1e995
	h := seed ^ uint32(len(data))
	n := len(data) &^ 3
	for i := 0; i < n; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> 24
		k *= m
		h *= m
		h ^= k
	}
	switch rest := data[n:]; len(rest) {
	case 3:
		h ^= uint32(rest[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(rest[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(rest[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}
