/// A receive loop's per-batch list: fixed capacity (the batch size), allocated once, emptied by resetting its
/// count. `Array.removeAll(keepingCapacity:)` went through the generic `replaceSubrange` and a uniqueness
/// check, about 85 instructions per array per batch: on a server woken for one request at a time, four such
/// arrays cost as much as answering (callgrind, issue 18). For trivially copyable elements only (checked at
/// creation); the loop owns its buffers and never shares them.
struct BatchBuffer<Element> {
    /// Frees the memory when the last copy of the buffer goes (the elements need no deinitialising).
    private final class Storage {
        let base: UnsafeMutablePointer<Element>
        let capacity: Int
        init(capacity: Int) {
            self.capacity = capacity
            base = UnsafeMutablePointer<Element>.allocate(capacity: capacity)
        }
        deinit { base.deallocate() }
    }

    private let storage: Storage
    private let base: UnsafeMutablePointer<Element>
    let capacity: Int
    private(set) var count = 0

    init(capacity: Int) {
        // Elements are overwritten and forgotten, never deinitialised: only trivial types may be kept.
        precondition(_isPOD(Element.self), "BatchBuffer holds trivially copyable elements only")
        storage = Storage(capacity: max(1, capacity))
        base = storage.base
        self.capacity = storage.capacity
    }

    var isEmpty: Bool { count == 0 }
    var indices: Range<Int> { 0..<count }

    /// Appends within the capacity; an element beyond it is a defect of the caller (one per datagram of a
    /// batch of at most `capacity`), stopped here rather than written past the allocation.
    mutating func append(_ element: Element) {
        precondition(count < capacity, "BatchBuffer overflow")
        (base + count).initialize(to: element)
        count += 1
    }

    mutating func removeAll() {
        count = 0
    }

    /// Through addressors: `facts[i].interleaved` reads one field where it lies, not a copy of the element.
    subscript(index: Int) -> Element {
        unsafeAddress {
            precondition(index >= 0 && index < count, "BatchBuffer index out of range")
            return UnsafePointer(base + index)
        }
        nonmutating unsafeMutableAddress {
            precondition(index >= 0 && index < count, "BatchBuffer index out of range")
            return base + index
        }
    }
}
