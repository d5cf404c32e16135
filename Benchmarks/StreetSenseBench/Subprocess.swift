import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A command the benchmarks start (`sqlite3`, `mosquitto_sub`) with `posix_spawn`: standard input from a
/// file, standard output and error to a file or to a pipe that this process reads, an empty signal mask and
/// default signal handlers (as `MosquittoBroker`'s child process, for the same reason: the threads of Swift's
/// concurrency pool block signals, and a child would inherit that). ``wait()`` reaps it with `wait4`, which
/// also gives the CPU time it used.
final class Subprocess: Sendable {
    /// Where the child's standard output and error go.
    enum Output {
        /// Appended to this file.
        case file(String)
        /// A pipe whose read end is ``outputDescriptor``.
        case pipe
    }

    let pid: pid_t
    /// The read end of the output pipe (`.pipe` only); whoever reads it closes it.
    let outputDescriptor: Int32?

    init(executable: String, arguments: [String], standardInput: String = "/dev/null", output: Output) throws {
        var fileActions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&fileActions)
        defer { posix_spawn_file_actions_destroy(&fileActions) }
        posix_spawn_file_actions_addopen(&fileActions, 0, standardInput, O_RDONLY, 0)
        var pipeEnds: [Int32] = [-1, -1]
        switch output {
        case .file(let path):
            posix_spawn_file_actions_addopen(&fileActions, 1, path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        case .pipe:
            guard pipe(&pipeEnds) == 0 else { throw BenchError("pipe: \(String(cString: strerror(errno)))") }
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
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaultSignals, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &fileActions, &attributes, argv, environ)
        if pipeEnds[1] >= 0 { close(pipeEnds[1]) }
        guard result == 0 else {
            if pipeEnds[0] >= 0 { close(pipeEnds[0]) }
            throw BenchError("cannot start \(executable): \(String(cString: strerror(result)))")
        }
        self.pid = pid
        outputDescriptor = pipeEnds[0] >= 0 ? pipeEnds[0] : nil
    }

    func send(_ signal: Int32) { _ = kill(pid, signal) }

    /// Blocks until the child exits: its exit status (128 + signal number if a signal ended it) and the CPU
    /// seconds (user + system) it used.
    func wait() -> (status: Int32, cpuSeconds: Double) {
        var waitStatus: Int32 = 0
        var usage = rusage()
        while wait4(pid, &waitStatus, 0, &usage) == -1 && errno == EINTR {}
        let signal = waitStatus & 0x7F
        let status = signal == 0 ? (waitStatus >> 8) & 0xFF : 128 + signal
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
        return (status, cpu)
    }
}
