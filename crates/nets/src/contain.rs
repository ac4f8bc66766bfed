//! libtorch's failures inside an operation (an allocation it cannot make, a
//! kernel that refuses its input) reach Rust as panics of tch's non-`f_`
//! functions. [`contain`] turns them into [`Error::Libtorch`] and keeps the
//! default panic report (and its backtrace, which itself allocates) off
//! stderr while it does, so that a run that hits its memory limit ends with
//! a message and its finished records, not an abort.

use std::any::Any;
use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use crate::error::{message_lines, Error, Result};

thread_local! {
    /// Whether this thread is inside [`contain`].
    static CONTAINED: Cell<bool> = const { Cell::new(false) };
}

static QUIET_HOOK: Once = Once::new();

/// Run `work`, turning a panic inside it into an error about `what` (for
/// example "block `wte`, probe 0"). Panics elsewhere are reported as before.
pub fn contain<T>(what: &str, work: impl FnOnce() -> Result<T>) -> Result<T> {
    QUIET_HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !CONTAINED.with(Cell::get) {
                previous(info)
            }
        }));
    });
    let outer = CONTAINED.with(|c| c.replace(true));
    let result = panic::catch_unwind(AssertUnwindSafe(work));
    CONTAINED.with(|c| c.set(outer));
    result.unwrap_or_else(|payload| Err(from_panic(what, payload.as_ref())))
}

/// The error a panic payload stands for: libtorch's own message without
/// tch's `Result::unwrap()` wrapping and the C++ backtrace.
fn from_panic(what: &str, payload: &(dyn Any + Send)) -> Error {
    let text = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    let text = text.strip_prefix("called `Result::unwrap()` on an `Err` value: ").unwrap_or(text);
    let text = text.strip_prefix("Torch(\"").map(|t| t.trim_end_matches("\")")).unwrap_or(text);
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
