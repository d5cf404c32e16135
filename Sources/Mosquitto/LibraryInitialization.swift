import CMosquitto

/// `mosquitto_lib_init` is not thread safe and must run once per process. A global `let` is initialized
/// lazily and exactly once (the runtime uses `swift_once`), even when the first clients are created on
/// several threads at the same time. `mosquitto_lib_cleanup` is never called: the process may create
/// clients until it exits.
private let libraryInitializationResult: Int32 = mosquitto_lib_init()

/// Runs `mosquitto_lib_init` the first time it is called in this process, and returns its result.
func initializeLibraryOnce() -> Int32 {
    libraryInitializationResult
}
