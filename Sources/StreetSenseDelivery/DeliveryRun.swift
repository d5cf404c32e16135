import ServiceLifecycle
import Synchronization

/// How a delivery service runs and stops: ``run(_:)`` runs its work in a task until ``stop()``, cancellation
/// of the caller, or graceful shutdown, whichever comes first. A ``stop()`` before ``run(_:)`` makes it return
/// at once. Shared by ``AlertMQTTPublisher`` and ``WebhookSender``.
final class DeliveryRun: Sendable {
    private struct State {
        var task: Task<Void, Never>?
        var stopped = false
    }

    private let state = Mutex(State())

    func run(_ work: @escaping @Sendable () async -> Void) async {
        let task = Task { await work() }
        let stopped = state.withLock { state in
            state.task = task
            return state.stopped
        }
        if stopped { task.cancel() }
        await withGracefulShutdownHandler {
            await withTaskCancellationHandler {
                await task.value
            } onCancel: {
                task.cancel()
            }
        } onGracefulShutdown: {
            self.stop()
        }
    }

    func stop() {
        state.withLock { state in
            state.stopped = true
            return state.task
        }?.cancel()
    }
}
