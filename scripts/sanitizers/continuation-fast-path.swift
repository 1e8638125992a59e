// The ThreadSanitizer report of Swift Concurrency's continuation fast path (swiftlang/swift#57803), reproduced
// outside the node (see continuation-fast-path.sh). A worker thread resumes each continuation: with `early`
// while the task is still inside the withUnsafeContinuation closure (it sleeps after handing the continuation
// over), so swift_continuation_await finds it already resumed and goes on without suspending, an ordering TSan
// cannot see (an uninstrumented atomic in libswift_Concurrency, no TSan annotation on that path); with `late`
// after the task has suspended, so the resume enqueues the task through the path the runtime annotates.
import Foundation

final class Mailbox: @unchecked Sendable {
    var lock = pthread_mutex_t()
    var cond = pthread_cond_t()
    var pending: UnsafeContinuation<Int, Never>?
    init() {
        pthread_mutex_init(&lock, nil)
        pthread_cond_init(&cond, nil)
    }
}

let early = CommandLine.arguments.dropFirst().first != "late"
let box = Mailbox()
let worker = Thread {
    while true {
        pthread_mutex_lock(&box.lock)
        while box.pending == nil { pthread_cond_wait(&box.cond, &box.lock) }
        let continuation = box.pending!
        box.pending = nil
        pthread_mutex_unlock(&box.lock)
        if !early { usleep(200) }
        continuation.resume(returning: 1)
    }
}
worker.start()
let done = DispatchSemaphore(value: 0)
Task.detached {
    var total = 0
    for _ in 0..<2000 {
        total += await withUnsafeContinuation { (continuation: UnsafeContinuation<Int, Never>) in
            pthread_mutex_lock(&box.lock)
            box.pending = continuation
            pthread_cond_signal(&box.cond)
            pthread_mutex_unlock(&box.lock)
            if early { usleep(200) }
        }
        var frame = [Int](repeating: total, count: 4)  // the task's next use of its memory after the await
        frame[0] += 1
        total = frame[0] - 1
    }
    print("resumed \(total) continuations (\(early ? "before" : "after") the await)")
    done.signal()
}
done.wait()
