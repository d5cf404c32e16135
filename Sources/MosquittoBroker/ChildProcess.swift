import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process started with `posix_spawn`, with an empty signal mask and default signal handlers.
///
/// Foundation's `Process` on Linux passes on the signal mask of the thread that calls `run()`, and the
/// threads of Swift's concurrency pool block nearly every signal (a child started from a task shows
/// `SigBlk: fffffffe3bfbea27`). mosquitto restores its inherited mask around `epoll_wait`, so a broker
/// started from an async test never acts on SIGTERM, never saves its persistence file, and has to be
/// killed. Spawning with `POSIX_SPAWN_SETSIGMASK` and `POSIX_SPAWN_SETSIGDEF` avoids that.
package final class ChildProcess: Sendable {
    /// Where the child's standard output and error go.
    package enum Output: Sendable {
        /// Appended to this file.
        case file(String)
        /// A pipe whose read end is ``ChildProcess/outputDescriptor``.
        case pipe
    }

    package let pid: pid_t
    /// The read end of the output pipe (``Output/pipe`` only); whoever reads it closes it.
    package let outputDescriptor: Int32?
    /// The wait status once the child has been reaped.
    private let reapedStatus = Mutex<Int32?>(nil)

    private init(pid: pid_t, outputDescriptor: Int32?) {
        self.pid = pid
        self.outputDescriptor = outputDescriptor
    }

    /// Starts `executable` with `arguments`, standard input from /dev/null and standard output and error
    /// appended to `outputPath`.
    package static func spawn(executable: String, arguments: [String], outputPath: String) throws -> ChildProcess {
        try spawn(executable: executable, arguments: arguments, output: .file(outputPath))
    }

    /// Starts `executable` with `arguments`, standard input from `standardInput`, and standard output and
    /// error to `output`.
    package static func spawn(
        executable: String, arguments: [String], standardInput: String = "/dev/null", output: Output
    ) throws -> ChildProcess {
        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        posix_spawn_file_actions_addopen(&fileActions, 0, standardInput, O_RDONLY, 0)
        var pipeEnds: [Int32] = [-1, -1]
        switch output {
        case .file(let path):
            posix_spawn_file_actions_addopen(&fileActions, 1, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        case .pipe:
            guard pipe(&pipeEnds) == 0 else {
                throw LocalBrokerError("cannot start \(executable): pipe: \(String(cString: strerror(errno)))", log: "")
            }
            // Neither end may leak into another child (it would hold the pipe open); dup2 clears the flag on 1.
            for end in pipeEnds { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
            posix_spawn_file_actions_adddup2(&fileActions, pipeEnds[1], 1)
        }
        posix_spawn_file_actions_adddup2(&fileActions, 1, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGPIPE, SIGCHLD] { sigaddset(&defaultSignals, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &fileActions, &attributes, argv, environ)
        if pipeEnds[1] >= 0 { close(pipeEnds[1]) }
        guard result == 0 else {
            if pipeEnds[0] >= 0 { close(pipeEnds[0]) }
            throw LocalBrokerError("cannot start \(executable): \(String(cString: strerror(result)))", log: "")
        }
        return ChildProcess(pid: pid, outputDescriptor: pipeEnds[0] >= 0 ? pipeEnds[0] : nil)
    }

    /// Whether the child still runs; reaps it once it has exited.
    package var isRunning: Bool {
        reapedStatus.withLock { status in
            guard status == nil else { return false }
            var waitStatus: Int32 = 0
            let result = waitpid(pid, &waitStatus, WNOHANG)
            if result == pid || (result == -1 && errno == ECHILD) {
                status = waitStatus
                return false
            }
            return true
        }
    }

    /// The exit code, or 128 + signal number, once the child has exited.
    package var exitDescription: String {
        guard let status = reapedStatus.withLock({ $0 }) else { return "still running" }
        let signal = status & 0x7F
        return signal == 0 ? "exit status \((status >> 8) & 0xFF)" : "signal \(signal)"
    }

    package func send(_ signal: Int32) {
        guard isRunning else { return }
        _ = kill(pid, signal)
    }

    /// Polls until the child has exited or `timeout` has passed; returns whether it exited.
    package func waitForExit(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while isRunning {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    /// Blocks until the child has exited and reaps it: its exit code (128 + signal number if a signal ended it)
    /// and the CPU seconds (user + system) it used, nil when ``isRunning`` had reaped it already. Waits
    /// without holding the lock, so another thread can still ``send(_:)`` it a signal meanwhile.
    package func waitForExitWithUsage() -> (status: Int32, cpuSeconds: Double?) {
        var waitStatus: Int32 = 0
        var usage = rusage()
        var result: pid_t
        repeat { result = wait4(pid, &waitStatus, 0, &usage) } while result == -1 && errno == EINTR
        let reaped = result == pid
        let status = reapedStatus.withLock { status -> Int32 in
            if reaped { status = waitStatus }
            return status ?? waitStatus
        }
        let signal = status & 0x7F
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        return (signal == 0 ? (status >> 8) & 0xFF : 128 + signal, reaped ? cpu : nil)
    }

    /// Blocks until the child has exited (for `deinit`s, after SIGKILL).
    package func waitForExitBlocking() {
        reapedStatus.withLock { status in
            guard status == nil else { return }
            var waitStatus: Int32 = 0
            while waitpid(pid, &waitStatus, 0) == -1 && errno == EINTR {}
            status = waitStatus
        }
    }
}
