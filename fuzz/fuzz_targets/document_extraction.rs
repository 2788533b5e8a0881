//! Document extraction: one attachment of a format the first byte picks.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| clerk::fuzzing::document_extraction(data));
