//! MIME intake: what intake reads of a stored message, on raw and alphabet-remapped bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| clerk::fuzzing::mime_intake(data));
