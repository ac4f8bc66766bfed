//! libtorch's failures inside an operation (an allocation it cannot make, a
//! kernel that refuses its input) reach Rust as panics of tch's non-`f_`
//! functions, which unwrap a `TchError`. [`contain`] turns those panics into
//! [`Error::Libtorch`] and keeps their default report (and its backtrace,
//! which itself allocates) off stderr, so that a run that hits its memory
//! limit ends with a message and its finished records, not an abort. Any
//! other panic is a bug: it is reported as usual and goes on unwinding.

use std::any::Any;
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use crate::error::{message_lines, Error, Result};

thread_local! {
    /// Whether this thread is inside [`contain`].
    static CONTAINED: Cell<bool> = const { Cell::new(false) };
}

/// How tch's non-`f_` functions panic on a libtorch error.
const TCH_PANIC: &str = "called `Result::unwrap()` on an `Err` value: Torch(";

/// The panic's message, when it has one.
fn payload_text(payload: &(dyn Any + Send)) -> Option<&str> {
    payload.downcast_ref::<String>().map(String::as_str).or_else(|| payload.downcast_ref::<&str>().copied())
}

fn is_libtorch(payload: &(dyn Any + Send)) -> bool {
    payload_text(payload).is_some_and(|t| t.starts_with(TCH_PANIC))
}

static QUIET_HOOK: Once = Once::new();

/// Run `work`, turning a libtorch error that tch raises as a panic inside it
/// into an error about `what` (for example "block `wte`, probe 0").
pub fn contain<T>(what: &str, work: impl FnOnce() -> Result<T>) -> Result<T> {
    QUIET_HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !(CONTAINED.with(Cell::get) && is_libtorch(info.payload())) {
                previous(info)
            }
        }));
    });
    let outer = CONTAINED.with(|c| c.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(work));
    CONTAINED.with(|c| c.set(outer));
    match result {
        Ok(out) => out,
        Err(payload) if is_libtorch(payload.as_ref()) => Err(from_panic(what, payload.as_ref())),
        Err(payload) => panic::resume_unwind(payload),
    }
}

/// The error a panic payload stands for: libtorch's own message without
/// tch's `Result::unwrap()` wrapping and the C++ backtrace.
fn from_panic(what: &str, payload: &(dyn Any + Send)) -> Error {
    let text = payload_text(payload).unwrap_or_default();
    let text = text.strip_prefix(TCH_PANIC).unwrap_or(text);
    let text = text.strip_prefix('"').map(|t| t.trim_end_matches("\")")).unwrap_or(text);
    let text = text.replace("\\n", "\n").replace("\\\"", "\"");
    let message = message_lines(&text, 3);
    let lower = message.to_lowercase();
    let out_of_memory = ["allocate", "out of memory", "not enough memory"].iter().any(|k| lower.contains(k));
    Error::Libtorch { what: what.to_string(), message, out_of_memory }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Kind, Tensor};

    #[test]
    fn an_allocation_libtorch_cannot_make_is_an_error_naming_the_work() {
        // 2^60 bytes: no allocator on any machine grants it.
        let e = contain("block `wte`, probe 0", || Ok(Tensor::zeros([1i64 << 57], (Kind::Double, tch::Device::Cpu))))
            .expect_err("must fail");
        match &e {
            Error::Libtorch { what, message, out_of_memory } => {
                assert_eq!(what, "block `wte`, probe 0");
                assert!(*out_of_memory, "{message}");
                assert!(!message.contains("Torch(") && !message.contains("frame #"), "{message}");
            }
            other => panic!("not a libtorch error: {other:?}"),
        }
        assert!(e.to_string().starts_with("block `wte`, probe 0: libtorch ran out of memory"), "{e}");
    }

    #[test]
    fn a_panic_that_is_not_libtorch_s_goes_on_unwinding() {
        let caught = std::panic::catch_unwind(|| contain::<()>("x", || panic!("a bug")));
        let payload = caught.expect_err("the bug's panic must not become an error");
        assert_eq!(payload_text(payload.as_ref()), Some("a bug"));
    }

    #[test]
    fn work_that_succeeds_or_fails_on_its_own_passes_through() {
        assert_eq!(contain("x", || Ok(3)).unwrap(), 3);
        let e = contain::<()>("x", || Err(Error::numeric("own"))).err().unwrap();
        assert!(matches!(e, Error::Numeric(m) if m == "own"));
        // A shape error inside libtorch is a message too, not a crash.
        let e = contain("y", || {
            Ok(Tensor::ones([2, 3], tch::kind::FLOAT_CPU).matmul(&Tensor::ones([2, 3], tch::kind::FLOAT_CPU)))
        })
        .expect_err("must fail");
        assert!(matches!(&e, Error::Libtorch { out_of_memory: false, .. }), "{e:?}");
    }
}
