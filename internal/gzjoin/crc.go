package gzjoin

// CRC-32 combination, so that the Joiner can produce the CRC of a
// concatenation from the parts' CRCs without reading the data again.
//
// Let A(x) be a message's bits as a polynomial over GF(2), I and F the
// all-ones initial value and final XOR, and P the CRC-32 polynomial. Then
// crc(A) = (A·x^32 + I·x^(8a)) mod P + F for a message of a bytes. For the
// concatenation AB, A(x) is shifted up by the b bytes of B:
//
//	crc(AB) = (A·x^(8b)·x^32 + B·x^32 + I·x^(8a+8b)) mod P + F
//	        = x^(8b)·(crc(A) + F) + (crc(B) + F + I·x^(8b)) + F   (mod P)
//	        = x^(8b)·crc(A) + crc(B)                              (mod P)
//
// as I = F. So combining is one multiplication modulo P by x^(8b), and
// x^(8b) is a product of the precomputed powers x^(2^k) over the set bits of
// 8b: O(log b) multiplications.
//
// Polynomials are 32-bit values in the reflected order CRC-32 uses: bit 31
// is the coefficient of x^0 and bit 0 that of x^31.

// crcPoly is P without its x^32 term, reflected: x^32 mod P.
const crcPoly = 0xedb88320

// x2k[k] is x^(2^k) mod P. 8b < 2^66 for any int b, so k < 66.
var x2k [66]uint32

func init() {
	x2k[0] = 1 << 30 // x^1
	for k := 1; k < len(x2k); k++ {
		x2k[k] = mulModP(x2k[k-1], x2k[k-1])
	}
}

// mulModP returns a·b mod P.
func mulModP(a, b uint32) uint32 {
	var prod uint32
	// For each coefficient of a, from x^0 up, add b·x^i, keeping b as b·x^i
	// mod P as i increases.
	for m := uint32(1) << 31; m != 0; m >>= 1 {
		if a&m != 0 {
			prod ^= b
		}
		// b·x: the x^31 coefficient (bit 0) becomes x^32 ≡ crcPoly.
		if b&1 != 0 {
			b = b>>1 ^ crcPoly
		} else {
			b >>= 1
		}
	}
	return prod
}

// crc32Combine returns the CRC-32 (IEEE) of the concatenation of a message
// with CRC crc1 and one of n bytes with CRC crc2.
func crc32Combine(crc1, crc2 uint32, n int) uint32 {
	if n <= 0 {
		return crc1 ^ crc2 // crc2 is 0 for an empty message
	}
	// x^(8n) = product of x^(2^(k+3)) over the set bits k of n.
	p := uint32(1) << 31 // x^0
	for k := 3; n != 0; k, n = k+1, n>>1 {
		if n&1 != 0 {
			p = mulModP(x2k[k], p)
		}
	}
	return mulModP(p, crc1) ^ crc2
}
