//! The `Runtime` contract (`claude_kit_rt::testkit`) on tokio: inside the runtime, and from
//! threads that are not tokio's (polled by `futures::executor::block_on` while a multi-thread
//! or a current-thread runtime runs elsewhere); then what only tokio has.

use std::sync::LazyLock;

use claude_kit_rt::Runtime;
use claude_kit_tokio::{OwnedRuntime, TokioRuntime};
use tokio::runtime::Handle;

mod inside_tokio {
    use super::*;

    claude_kit_rt::conformance_tests! {
        runtime = TokioRuntime::current,
        block_on = claude_kit_tokio::block_on,
        shut_down = || {
            let owned = OwnedRuntime::new_current_thread().expect("a tokio runtime");
            let runtime = owned.runtime();
            drop(owned);
            runtime
        },
    }
}

/// A multi-thread runtime with one worker, shared by the module's tests.
static MULTI_THREAD: LazyLock<OwnedRuntime> =
    LazyLock::new(|| OwnedRuntime::with_worker_threads(1).expect("a tokio runtime"));

mod foreign_thread_multi_thread {
    use super::*;

    claude_kit_rt::conformance_tests! {
        runtime = || MULTI_THREAD.runtime(),
        block_on = futures::executor::block_on,
    }
}

/// A current-thread runtime driven by a background thread for the life of the test process.
static CURRENT_THREAD: LazyLock<Handle> = LazyLock::new(|| {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let handle = runtime.handle().clone();
    std::thread::spawn(move || runtime.block_on(std::future::pending::<()>()));
    handle
});

mod foreign_thread_current_thread {
    use super::*;

    claude_kit_rt::conformance_tests! {
        runtime = || TokioRuntime::from_handle(CURRENT_THREAD.clone()),
        block_on = futures::executor::block_on,
    }
}

#[test]
fn name_and_current() {
    assert!(TokioRuntime::try_current().is_none());
    let owned = OwnedRuntime::with_worker_threads(1).unwrap();
    let runtime = TokioRuntime::from(owned.runtime().handle().clone());
    assert_eq!(runtime.name(), "tokio");
    owned.block_on(async {
        assert!(TokioRuntime::try_current().is_some());
        assert_eq!(TokioRuntime::current().name(), "tokio");
    });
}

#[test]
#[should_panic]
fn current_panics_outside_tokio() {
    let _ = TokioRuntime::current();
}

/// A plain tokio runtime dropped inside another runtime panics; an `OwnedRuntime` does not
/// block, nor panic, there.
#[test]
fn owned_runtime_drops_inside_a_runtime() {
    claude_kit_tokio::block_on(async {
        let inner = OwnedRuntime::new_current_thread().unwrap();
        let runtime = inner.runtime();
        drop(inner);
        assert!(runtime.is_shut_down());
    });
}

/// `is_shut_down` follows the runtime: false while it runs (asked before and after its first
/// timer), true once it is dropped, for clones too.
#[test]
fn shut_down_detection() {
    let owned = OwnedRuntime::new_current_thread().unwrap();
    let runtime = owned.runtime();
    assert!(!runtime.is_shut_down());
    owned.block_on(claude_kit_rt::sleep(
        &runtime,
        std::time::Duration::from_millis(1),
    ));
    let clone = runtime.clone();
    assert!(!clone.is_shut_down());
    drop(owned);
    assert!(runtime.is_shut_down() && clone.is_shut_down());
}
