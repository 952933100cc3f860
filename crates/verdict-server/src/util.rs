//! Small pieces: a seeded random source, ids, timestamps, base64.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A seeded, lock-free random source (splitmix64 over an atomic counter): the same seed
/// gives the same sequence in a single-threaded run.
#[derive(Debug)]
pub struct Rng(AtomicU64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(AtomicU64::new(seed))
    }

    pub fn next_u64(&self) -> u64 {
        mix(self
            .0
            .fetch_add(GOLDEN, Ordering::Relaxed)
            .wrapping_add(GOLDEN))
    }

    /// A number in `[0, 1)`.
    pub fn unit(&self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A number in `[lo, hi]`.
    pub fn between(&self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            lo
        } else {
            lo + self.next_u64() % (hi - lo + 1)
        }
    }

    /// A random (version 4) UUID.
    pub fn uuid(&self) -> String {
        let mut out = String::with_capacity(36);
        self.push_uuid(&mut out);
        out
    }

    /// Appends a random (version 4) UUID to `out`.
    pub fn push_uuid(&self, out: &mut String) {
        push_uuid(out, self.next_u64(), self.next_u64());
    }

    /// 32 hexadecimal characters.
    pub fn hex(&self) -> String {
        format!("{:016X}{:016X}", self.next_u64(), self.next_u64())
    }
}

/// Appends a random (version 4) UUID drawn from this thread's own stream, seeded apart
/// from every emulator's [`Rng`]: for tracking ids, which every request needs and no seed
/// has to reproduce, so threads do not contend for a shared counter and seeded draws
/// (ids, random faults) stay the same from run to run.
pub fn push_thread_uuid(out: &mut String) {
    use std::hash::{BuildHasher, Hasher};
    thread_local! {
        static STATE: std::cell::Cell<u64> = std::cell::Cell::new(
            std::collections::hash_map::RandomState::new().build_hasher().finish(),
        );
    }
    let (a, b) = STATE.with(|state| {
        let s = state.get().wrapping_add(GOLDEN);
        let t = s.wrapping_add(GOLDEN);
        state.set(t);
        (mix(s), mix(t))
    });
    push_uuid(out, a, b);
}

/// SplitMix64's increment.
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output function.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Appends the version 4 UUID made of the random bits `a` and `b`, in lower case (this
/// runs for the tracking id of every request: the text is built on the stack and appended
/// at once).
fn push_uuid(out: &mut String, a: u64, b: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let a = (a & 0xffff_ffff_ffff_0fff) | 0x4000;
    let b = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_be_bytes());
    bytes[8..].copy_from_slice(&b.to_be_bytes());
    let mut text = [b'-'; 36];
    let mut at = 0;
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            at += 1;
        }
        text[at] = HEX[usize::from(byte >> 4)];
        text[at + 1] = HEX[usize::from(byte & 0xf)];
        at += 2;
    }
    out.push_str(std::str::from_utf8(&text).unwrap_or_default());
}

/// `n` in decimal as a header value: numbers below 100 (seconds to a reset, mostly)
/// without allocating, larger ones with one allocation of exactly their digits
/// (`HeaderValue::from(u64)` takes two and goes through `fmt`; rate-limit headers are on
/// every answer).
pub fn number_value(n: u64) -> http::HeaderValue {
    const SMALL: &str = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";
    if n < 100 {
        let at = 2 * n as usize + usize::from(n < 10);
        return http::HeaderValue::from_static(&SMALL[at..2 * n as usize + 2]);
    }
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    http::HeaderValue::from_bytes(&digits[at..]).expect("ASCII digits are a valid header value")
}

/// Milliseconds since the epoch, by the wall clock (quota windows are aligned on it, so
/// that emulators sharing state count in the same windows).
pub fn wall_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Unpadded URL-safe base64, as Webex ids use.
pub fn base64url(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Standard base64 decoding (padding optional), for Basic credentials.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    };
    let bytes: Vec<u8> = text.trim().trim_end_matches('=').bytes().collect();
    if bytes.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= value(*c)? << (18 - 6 * i);
        }
        for i in 0..chunk.len() - 1 {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

/// An RFC 3339 timestamp in UTC with milliseconds, e.g. `2026-11-21T23:59:59.123Z`.
pub fn timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

/// Milliseconds since the epoch of a moment on this machine's monotonic clock.
pub(crate) fn epoch_ms(at: std::time::Instant) -> u64 {
    let (now, wall) = (std::time::Instant::now(), wall_ms());
    if at >= now {
        wall.saturating_add((at - now).as_millis() as u64)
    } else {
        wall.saturating_sub((now - at).as_millis() as u64)
    }
}

/// The moment on this machine's monotonic clock of a time in milliseconds since the epoch.
pub(crate) fn instant_of(ms: u64) -> std::time::Instant {
    let (now, wall) = (std::time::Instant::now(), wall_ms());
    if ms >= wall {
        now + std::time::Duration::from_millis(ms - wall)
    } else {
        now.checked_sub(std::time::Duration::from_millis(wall - ms))
            .unwrap_or(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn uuid_text_is_the_bits_in_order_with_version_and_variant() {
        let mut out = String::from("VERDICT_");
        push_uuid(&mut out, 0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210);
        assert_eq!(out, "VERDICT_01234567-89ab-4def-bedc-ba9876543210");
    }

    #[test]
    fn number_values_are_the_decimal_digits() {
        for n in (0..=120).chain([4_294_967_295, 1_000_000_007, u64::MAX]) {
            assert_eq!(number_value(n).to_str().unwrap(), n.to_string());
        }
    }

    #[test]
    fn timestamps() {
        assert_eq!(timestamp(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            timestamp(UNIX_EPOCH + Duration::from_millis(1_445_412_480_123)),
            "2015-10-21T07:28:00.123Z"
        );
        assert_eq!(
            timestamp(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00.000Z"
        );
    }

    #[test]
    fn base64_round_trip() {
        assert_eq!(
            base64url(b"ciscospark://us/ROOM/1"),
            "Y2lzY29zcGFyazovL3VzL1JPT00vMQ"
        );
        assert_eq!(base64_decode("dXNlcjpwYXNz").unwrap(), b"user:pass");
        assert_eq!(base64_decode("YQ==").unwrap(), b"a");
        assert!(base64_decode("@@@@").is_none());
        assert!(base64_decode("a").is_none());
    }

    #[test]
    fn seeded_sequences_repeat() {
        let (a, b) = (Rng::new(7), Rng::new(7));
        assert_eq!(a.uuid(), b.uuid());
        assert_eq!(a.uuid().len(), 36);
        assert!((0..1000).all(|_| (0.0..1.0).contains(&a.unit())));
    }

    #[test]
    fn uuids_are_version_4_in_the_usual_form() {
        let (rng, twin) = (Rng::new(3), Rng::new(3));
        for _ in 0..1000 {
            let u = rng.uuid();
            let (a, b) = (twin.next_u64(), twin.next_u64());
            let a = (a & 0xffff_ffff_ffff_0fff) | 0x4000;
            let b = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
            let expected = format!(
                "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                a >> 32,
                (a >> 16) & 0xffff,
                a & 0xffff,
                b >> 48,
                b & 0xffff_ffff_ffff
            );
            assert_eq!(u, expected);
            assert_eq!(&u[14..15], "4");
            assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
        }
    }
}
