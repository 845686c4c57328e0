import CZlib

/// Inflates a gzip request body (git sends `Content-Encoding: gzip` for large negotiation requests).
enum Gunzip {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The inflated bytes; throws when the data is not gzip or inflates past `limit` bytes.
    static func inflate(_ input: [UInt8], limit: Int) throws -> [UInt8] {
        var stream = z_stream()
        guard mirrordeck_inflate_init2(&stream, 16 + MAX_WBITS) == Z_OK else { throw Failure(description: "cannot start inflating") }
        defer { inflateEnd(&stream) }
        var out = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        return try input.withUnsafeBufferPointer { inBuf -> [UInt8] in
            stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
            stream.avail_in = uInt(inBuf.count)
            while true {
                let status = chunk.withUnsafeMutableBufferPointer { outBuf -> Int32 in
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = uInt(outBuf.count)
                    return CZlib.inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk.count - Int(stream.avail_out)
                out += chunk[0..<produced]
                guard out.count <= limit else { throw Failure(description: "the inflated body is over \(limit) bytes") }
                if status == Z_STREAM_END { return out }
                guard status == Z_OK else { throw Failure(description: "the body is not valid gzip") }
                if stream.avail_in == 0 && produced == 0 { throw Failure(description: "the gzip body ends early") }
            }
        }
    }
}
