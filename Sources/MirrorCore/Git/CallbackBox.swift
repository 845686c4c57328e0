/// A C struct that libgit2 holds and calls back through (an object-database backend, a pack writer, a
/// network stream), followed in memory by a retained pointer to the Swift object that does the work.
///
/// libgit2's callbacks receive only the struct's pointer, and Swift's C function pointers cannot capture
/// context: the owner is found at a fixed offset behind the struct, the way C code embeds the struct as
/// the first member of its own.
enum CallbackBox {
    private static func ownerOffset<T>(_: T.Type) -> Int {
        let align = MemoryLayout<UnsafeRawPointer>.alignment
        return (MemoryLayout<T>.size + align - 1) / align * align
    }

    /// A zeroed `T` with `owner` retained behind it; free it with `release`.
    static func allocate<T, Owner: AnyObject>(_: T.Type, owner: Owner) -> UnsafeMutablePointer<T> {
        let offset = ownerOffset(T.self)
        let bytes = offset + MemoryLayout<UnsafeRawPointer>.size
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: max(16, MemoryLayout<T>.alignment))
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        (raw + offset).storeBytes(of: Unmanaged.passRetained(owner).toOpaque(), as: UnsafeMutableRawPointer.self)
        return raw.bindMemory(to: T.self, capacity: 1)
    }

    /// The owner behind `pointer`.
    static func owner<T, Owner: AnyObject>(_ pointer: UnsafeMutablePointer<T>, as _: Owner.Type) -> Owner {
        let raw = UnsafeMutableRawPointer(pointer) + ownerOffset(T.self)
        return Unmanaged<Owner>.fromOpaque(raw.load(as: UnsafeMutableRawPointer.self)).takeUnretainedValue()
    }

    /// Releases the owner and frees the memory.
    static func release<T, Owner: AnyObject>(_ pointer: UnsafeMutablePointer<T>, as _: Owner.Type) {
        let raw = UnsafeMutableRawPointer(pointer)
        Unmanaged<Owner>.fromOpaque((raw + ownerOffset(T.self)).load(as: UnsafeMutableRawPointer.self)).release()
        raw.deallocate()
    }
}
