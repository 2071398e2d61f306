//! Base64 (standard alphabet) decoding of rawjson log chunks: 32 characters at a time with AVX2 where the
//! CPU has it, the `base64` crate for the last characters (padding) and for every text that is not plain
//! base64, so results and error messages are the crate's.
//!
//! The vector loop is the well-known one of Muła and Lemire ("Faster Base64 Encoding and Decoding using
//! AVX2 Instructions", 2018; aklomp/base64's `dec_loop_avx2`): a nibble lookup checks that all 32 bytes are
//! alphabet characters, a second lookup turns them into their 6-bit values, two multiply-adds and two
//! shuffles pack 32 values into 24 bytes.

use base64::Engine as _;

/// Characters one vector step reads, and the bytes it writes (24 of them are the decoded ones).
const STEP_IN: usize = 32;
const STEP_OUT: usize = 24;

/// Decodes `text` into `out[at..]`, growing `out` as needed (its length only grows, so a reused buffer is
/// neither zeroed nor reallocated per chunk); returns how many bytes were decoded, or the crate's error.
pub fn decode_into(text: &[u8], out: &mut Vec<u8>, at: usize) -> Result<usize, base64::DecodeSliceError> {
    // Room for the crate's estimate plus the 8 bytes a vector store writes past its 24.
    let room = text.len() / 4 * 3 + 3 + (STEP_IN - STEP_OUT);
    let end = at.saturating_add(room);
    if out.len() < end {
        out.resize(end, 0);
    }
    let target = out.get_mut(at..end).unwrap_or_default();
    let (read, written) = vector_prefix(text, target);
    let tail = text.get(read..).unwrap_or_default();
    let done = target.get_mut(written..).unwrap_or_default();
    match base64::engine::general_purpose::STANDARD.decode_slice(tail, done) {
        Ok(n) => Ok(written + n),
        // The crate's message names an offset in the whole text: decode it all again the crate's way.
        Err(_) if read > 0 => base64::engine::general_purpose::STANDARD.decode_slice(text, target),
        Err(e) => Err(e),
    }
}

/// Decodes whole 32-character blocks of alphabet characters from the start of `text`, leaving at least
/// four characters (the last quantum, maybe padded) to the crate; stops at the first block with any
/// other byte. Returns the characters read and the bytes written.
fn vector_prefix(text: &[u8], out: &mut [u8]) -> (usize, usize) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx2") {
            let blocks = text.len().saturating_sub(4) / STEP_IN;
            let fit = out.len().saturating_sub(STEP_IN - STEP_OUT) / STEP_OUT;
            let blocks = blocks.min(fit);
            let text = text.get(..blocks * STEP_IN).unwrap_or_default();
            // SAFETY: AVX2 was detected just above; the slices bound every load and store (see `avx2`).
            let done = unsafe { avx2::decode_blocks(text, out) };
            return (done * STEP_IN, done * STEP_OUT);
        }
    }
    let _ = (text, out);
    (0, 0)
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{STEP_IN, STEP_OUT};

    /// Decodes `text` (a multiple of 32 characters) block by block into `out`, which must hold 24 bytes per
    /// block plus 8; stops before the first block that is not all alphabet characters. Returns the blocks
    /// decoded.
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub unsafe fn decode_blocks(text: &[u8], out: &mut [u8]) -> usize {
        let lut_lo = _mm256_setr_epi8(
            0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1A, 0x1B, 0x1B, 0x1B, 0x1A, 0x15, 0x11, 0x11, 0x11, 0x11,
            0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1A, 0x1B, 0x1B, 0x1B, 0x1A,
        );
        let lut_hi = _mm256_setr_epi8(
            0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x01, 0x02, 0x04,
            0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10,
        );
        let lut_roll = _mm256_setr_epi8(
            0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0,
        );
        let mask_2f = _mm256_set1_epi8(0x2f);
        let pack_shuffle = _mm256_setr_epi8(
            2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1, 2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,
        );
        let pack_lanes = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, -1, -1);
        let mut done = 0;
        for block in text.chunks_exact(STEP_IN) {
            // The store writes 32 bytes from `done * 24`: they must lie inside `out`.
            if (done + 1) * STEP_OUT + (STEP_IN - STEP_OUT) > out.len() {
                break;
            }
            let chars = _mm256_loadu_si256(block.as_ptr().cast());
            let hi_nibbles = _mm256_and_si256(_mm256_srli_epi32(chars, 4), mask_2f);
            let lo_nibbles = _mm256_and_si256(chars, mask_2f);
            let lo = _mm256_shuffle_epi8(lut_lo, lo_nibbles);
            let hi = _mm256_shuffle_epi8(lut_hi, hi_nibbles);
            if _mm256_testz_si256(lo, hi) == 0 {
                break;
            }
            let eq_2f = _mm256_cmpeq_epi8(chars, mask_2f);
            let roll = _mm256_shuffle_epi8(lut_roll, _mm256_add_epi8(eq_2f, hi_nibbles));
            let values = _mm256_add_epi8(chars, roll);
            let merged = _mm256_maddubs_epi16(values, _mm256_set1_epi32(0x0140_0140));
            let packed = _mm256_madd_epi16(merged, _mm256_set1_epi32(0x0001_1000));
            let packed = _mm256_shuffle_epi8(packed, pack_shuffle);
            let packed = _mm256_permutevar8x32_epi32(packed, pack_lanes);
            _mm256_storeu_si256(out.as_mut_ptr().add(done * STEP_OUT).cast(), packed);
            done += 1;
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crate_decode(text: &[u8]) -> Result<Vec<u8>, String> {
        base64::engine::general_purpose::STANDARD.decode(text).map_err(|e| e.to_string())
    }

    fn ours(text: &[u8]) -> Result<Vec<u8>, String> {
        let mut out = vec![7u8; 5];
        let n = decode_into(text, &mut out, 5).map_err(|e| match e {
            base64::DecodeSliceError::DecodeError(e) => e.to_string(),
            e => e.to_string(),
        })?;
        Ok(out.get(5..5 + n).unwrap_or_default().to_vec())
    }

    #[test]
    fn every_byte_value_round_trips_at_every_length() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(700).collect();
        for len in 0..bytes.len() {
            let text = base64::engine::general_purpose::STANDARD.encode(&bytes[..len]);
            assert_eq!(ours(text.as_bytes()), Ok(bytes[..len].to_vec()), "length {len}");
        }
    }

    #[test]
    fn a_bad_byte_anywhere_gives_the_crate_error() {
        let text = base64::engine::general_purpose::STANDARD.encode([0x5au8; 300]);
        for at in 0..text.len() {
            for bad in [b'!', b'=', b'\n', 0x80, b'-', b'_', b'@', b'[', b'`', b'{', b'/' - 1, b'+' - 1] {
                let mut t = text.clone().into_bytes();
                t[at] = bad;
                assert_eq!(ours(&t), crate_decode(&t), "{bad} at {at}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn equals_the_crate(text in "[A-Za-z0-9+/]{0,200}(=|==)?|[ -~]{0,120}") {
            proptest::prop_assert_eq!(ours(text.as_bytes()), crate_decode(text.as_bytes()));
        }

        #[test]
        fn decodes_like_the_crate(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let text = base64::engine::general_purpose::STANDARD.encode(&bytes);
            proptest::prop_assert_eq!(ours(text.as_bytes()), Ok(bytes));
        }
    }
}
