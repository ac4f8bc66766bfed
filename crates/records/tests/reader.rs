//! The JSON-lines reader reports where a bad record is, by source, line and field.

use records::{open_inputs, Error, Record, Tridiag};
use std::io::Write;

fn write_temp(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("records-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::File::create(&p).unwrap().write_all(text.as_bytes()).unwrap();
    p
}

fn first_error(text: &str) -> Error {
    // Tests run in parallel: one file per call.
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let p = write_temp(&format!("in{n}.jsonl"), text);
    for line in open_inputs(&[p]).unwrap() {
        match line {
            Err(e) => return e,
            Ok(l) if l.kind == "tridiag" => {
                if let Err(e) = l.parse::<Tridiag>() {
                    return e;
                }
            }
            Ok(_) => {}
        }
    }
    panic!("no error");
}

#[test]
fn malformed_json_names_the_line() {
    let e = first_error("{\"type\":\"run\"}\n\n{\"type\": tridiag}\n");
    match e {
        Error::Input { line, .. } => assert_eq!(line, 3, "blank lines count"),
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains(":3: malformed JSON"), "{e}");
}

#[test]
fn wrong_field_type_names_the_field() {
    let e = first_error(
        r#"{"type":"tridiag","model":"m","block":"b","dim":3,"probe":0,"seed":1,"alpha":[1.0,null],"beta":[0.1]}"#,
    );
    let s = e.to_string();
    assert!(s.contains(":1: field `alpha[1]`"), "{s}");
}

#[test]
fn missing_field_is_named() {
    let e = first_error(r#"{"type":"tridiag","model":"m","block":"b","dim":3,"probe":0,"seed":1,"alpha":[1.0]}"#);
    assert!(e.to_string().contains("missing field `beta`"), "{e}");
}

#[test]
fn records_without_type_are_rejected() {
    let e = first_error("{\"model\":\"m\"}\n");
    assert!(e.to_string().contains("field `type`"), "{e}");
    let e = first_error("[1,2]\n");
    assert!(e.to_string().contains("JSON object"), "{e}");
}

#[test]
fn non_finite_numbers_cannot_enter() {
    // JSON has no NaN; an overflowing literal is rejected by the parser.
    let e = first_error(
        r#"{"type":"tridiag","model":"m","block":"b","dim":3,"probe":0,"seed":1,"alpha":[1e999],"beta":[]}"#,
    );
    assert!(matches!(e, Error::Input { line: 1, .. }), "{e:?}");
}

#[test]
fn tridiag_validation_catches_length_mismatch() {
    let t = Tridiag {
        model: "m".into(),
        block: "b".into(),
        dim: 5,
        probe: 0,
        seed: 0,
        alpha: vec![1.0, 2.0],
        beta: vec![],
        steps_done: None,
        breakdown: false,
        reorth: None,
        reorth_steps: None,
        basis: None,
        engine: None,
    };
    let (field, msg) = t.validate().unwrap_err();
    assert_eq!(field, "beta");
    assert!(msg.contains("has 0 entries but alpha has 2"));
}

#[test]
fn tridiag_basis_is_written_only_when_known() {
    // A record without `basis` (older tools, other generators) reads back
    // with None and writes the same bytes; one with it keeps it.
    let old = r#"{"type":"tridiag","model":"m","block":"b","dim":3,"probe":0,"seed":7,"alpha":[1.0,2.0],"beta":[0.5],"steps_done":2,"breakdown":false,"reorth":"full"}"#;
    let rec: Record = serde_json::from_str(old).unwrap();
    let Record::Tridiag(t) = &rec else { panic!("a tridiag record") };
    assert_eq!(t.basis, None);
    assert_eq!(serde_json::to_string(&rec).unwrap(), old);
    let new = old.replace(r#""reorth":"full""#, r#""reorth":"full","basis":"f32""#);
    let rec: Record = serde_json::from_str(&new).unwrap();
    let Record::Tridiag(t) = &rec else { panic!("a tridiag record") };
    assert_eq!(t.basis.as_deref(), Some("f32"));
    assert_eq!(serde_json::to_string(&rec).unwrap(), new);
}

#[test]
fn floats_survive_a_write_read_round_trip_bit_for_bit() {
    // serde_json's default float parser can be one ulp off; the workspace
    // enables `float_roundtrip` so records read back exactly.
    let mut x: u64 = 0x1234_5678_9abc_def1;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let v = f64::from_bits(x);
        if !v.is_finite() {
            continue;
        }
        let s = serde_json::to_string(&v).unwrap();
        let back: f64 = serde_json::from_str(&s).unwrap();
        assert_eq!(back.to_bits(), v.to_bits(), "{s}");
    }
    let v = 0.19126343380836758f64;
    assert_eq!(serde_json::from_str::<f64>(&serde_json::to_string(&v).unwrap()).unwrap(), v);
}
