//! The `Runtime` contract (`claude_kit_rt::testkit`) on smol: its global executor and a custom
//! one; then what only smol has.

use std::sync::{Arc, LazyLock};

use async_executor::Executor;
use claude_kit_rt::Runtime;
use claude_kit_smol::SmolRuntime;

mod global_executor {
    use super::*;

    claude_kit_rt::conformance_tests! {
        runtime = SmolRuntime::new,
        block_on = claude_kit_smol::block_on,
    }
}

/// One executor for the module's tests, run by each test's `block_on` (several threads may
/// run one executor).
static EXECUTOR: LazyLock<Arc<Executor<'static>>> = LazyLock::new(Arc::default);

mod custom_executor {
    use super::*;

    claude_kit_rt::conformance_tests! {
        runtime = || SmolRuntime::with_executor(EXECUTOR.clone()),
        block_on = |future| smol::block_on(EXECUTOR.run(future)),
    }
}

#[test]
fn name_and_debug() {
    assert_eq!(SmolRuntime::new().name(), "smol");
    assert!(format!("{:?}", SmolRuntime::new()).contains("global"));
    let custom = SmolRuntime::with_executor(EXECUTOR.clone());
    assert!(custom.executor().is_some());
    assert!(format!("{custom:?}").contains("custom"));
}
