import CGit2
import Foundation

/// Receives fetched packs with git's own `git index-pack --stdin --fix-thin` instead of libgit2's indexer.
///
/// libgit2 1.5 indexes a received pack in the fetching process: it keeps every object's entry and mapped
/// windows of the growing pack resident, and resolves deltas on one thread (a 310 MiB pack peaked at
/// 439 MiB against `git clone --mirror`'s 97 MiB, and took 1.44 × its time). git's `index-pack` streams the
/// pack to disk and resolves deltas on every core.
///
/// It plugs in below libgit2's fetch as an object-database backend that can only write packs: libgit2's
/// transports hand a received pack to the first backend of the repository's object database that writes
/// packs, so connecting, negotiating and the ref handling stay libgit2's, and only the indexing is git's.
/// Where git is missing (or `MIRRORDECK_PACK_INDEXER=libgit2`) the backend passes, and libgit2's own pack
/// backend indexes as before.
///
/// A pack is complete when index-pack has renamed its `.pack` and `.idx` into `objects/pack`; a kill before
/// that leaves `objects/pack/tmp_*` files, which the next sync of a mirror marked as fetching removes.
enum IndexPackReceiver {
    /// Installs the receiving backend on `repository`'s object database (once per open repository).
    static func install(on repository: OpaquePointer, path: String) throws {
        guard ProcessInfo.processInfo.environment["MIRRORDECK_PACK_INDEXER"] != "libgit2",
              let git = GitMaintenance.gitExecutable() else { return }
        var odb: OpaquePointer?
        var rc = git_repository_odb(&odb, repository)
        guard rc == 0, let odb else { throw GitError.repository(path: path, message: GitError.lastMessage(rc)) }
        defer { git_odb_free(odb) }
        let backend = BackendBox.make(Receiver(path: path, git: git))
        // Above libgit2's loose (2) and packed (1) backends: asked first to write a pack.
        rc = git_odb_add_backend(odb, backend, 100)
        guard rc == 0 else {
            backend.pointee.free?(backend)
            throw GitError.repository(path: path, message: GitError.lastMessage(rc))
        }
    }

    /// What the backend knows: where the mirror is and which git to run.
    final class Receiver {
        let path: String
        let git: String
        init(path: String, git: String) {
            self.path = path
            self.git = git
        }
    }

    /// The backend: only `writepack` (and an empty `foreach`, which git_odb_foreach calls unchecked).
    enum BackendBox {
        static func make(_ receiver: Receiver) -> UnsafeMutablePointer<git_odb_backend> {
            let backend = CallbackBox.allocate(git_odb_backend.self, owner: receiver)
            git_odb_init_backend(backend, UInt32(GIT_ODB_BACKEND_VERSION))
            backend.pointee.writepack = { out, backend, _, progress, payload in
                guard let out, let backend else { return GIT_ERROR.rawValue }
                let receiver = CallbackBox.owner(backend, as: Receiver.self)
                do {
                    let session = try Session(receiver: receiver, progress: progress, payload: payload)
                    out.pointee = WritepackBox.make(session, backend: backend)
                    return 0
                } catch {
                    _ = git_error_set_str(Int32(GIT_ERROR_ODB.rawValue), "\(error)")
                    return GIT_ERROR.rawValue
                }
            }
            backend.pointee.foreach = { _, _, _ in 0 }
            backend.pointee.free = { backend in
                if let backend { CallbackBox.release(backend, as: Receiver.self) }
            }
            return backend
        }
    }

    /// One pack being written: its bytes go on to the session's index-pack.
    enum WritepackBox {
        static func make(_ session: Session, backend: UnsafeMutablePointer<git_odb_backend>) -> UnsafeMutablePointer<git_odb_writepack> {
            let writepack = CallbackBox.allocate(git_odb_writepack.self, owner: session)
            writepack.pointee.backend = backend
            writepack.pointee.append = { writepack, data, size, stats in
                guard let writepack, let stats else { return GIT_ERROR.rawValue }
                return CallbackBox.owner(writepack, as: Session.self).append(UnsafeRawBufferPointer(start: data, count: size), stats: stats)
            }
            writepack.pointee.commit = { writepack, stats in
                guard let writepack, let stats else { return GIT_ERROR.rawValue }
                return CallbackBox.owner(writepack, as: Session.self).commit(stats: stats)
            }
            writepack.pointee.free = { writepack in
                guard let writepack else { return }
                CallbackBox.owner(writepack, as: Session.self).abandon()
                CallbackBox.release(writepack, as: Session.self)
            }
            return writepack
        }
    }

    /// One received pack: the bytes go to index-pack's stdin; its progress comes back on its stderr.
    final class Session {
        private let process: ChildProcess
        private let progress: git_indexer_progress_cb?
        private let payload: UnsafeMutableRawPointer?
        private let meter: Meter
        private var header: [UInt8] = []
        private var finished = false

        init(receiver: Receiver, progress: git_indexer_progress_cb?, payload: UnsafeMutableRawPointer?) throws {
            self.progress = progress
            self.payload = payload
            let meter = Meter()
            self.meter = meter
            var env = ProcessInfo.processInfo.environment
            for key in ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES"] {
                env.removeValue(forKey: key)
            }
            env["GIT_TERMINAL_PROMPT"] = "0"
            env["LC_ALL"] = "C"
            process = try ChildProcess(receiver.git, ["--git-dir=" + receiver.path, "-c", "gc.auto=0",
                                                      "index-pack", "--stdin", "--fix-thin", "-v"],
                                       environment: env, onStderr: { meter.consume($0) })
        }

        /// Passes received bytes on; the pack header's object count is the total to report.
        func append(_ bytes: UnsafeRawBufferPointer, stats: UnsafeMutablePointer<git_indexer_progress>) -> Int32 {
            if header.count < 12 {
                header += bytes.prefix(12 - header.count)
                if header.count == 12, header.starts(with: Array("PACK".utf8)) {
                    stats.pointee.total_objects = header[8..<12].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                }
            }
            guard bytes.isEmpty || process.writeStdin(bytes) else {
                return fail("git index-pack stopped reading the pack", stats: stats)
            }
            meter.copy(into: stats)
            return 0
        }

        /// Ends the pack and waits for index-pack to resolve the deltas and write the index, reporting its
        /// progress (the caller's callback may cancel: index-pack is stopped then).
        func commit(stats: UnsafeMutablePointer<git_indexer_progress>) -> Int32 {
            process.closeStdin()
            // index-pack prints "pack\t<hash>" and exits; its stdout reaching EOF is the end. Meanwhile its
            // progress is reported (and the caller may cancel).
            var line: [UInt8] = []
            var last = git_indexer_progress()
            var buffer = [UInt8](repeating: 0, count: 256)
            var pfd = pollfd(fd: process.stdout, events: Int16(POLLIN), revents: 0)
            while true {
                meter.copy(into: stats)
                if let progress, !Self.same(stats.pointee, last) {
                    last = stats.pointee
                    if progress(stats, payload) != 0 {
                        abandon()
                        _ = git_error_set_str(Int32(GIT_ERROR_CALLBACK.rawValue), "indexing cancelled")
                        return GIT_EUSER.rawValue
                    }
                }
                pfd.revents = 0
                let ready = poll(&pfd, 1, 50)
                if ready < 0 && errno == EINTR { continue }
                if ready == 0 { continue }
                let n = read(process.stdout, &buffer, buffer.count)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                if line.count < 256 { line += buffer[0..<n] }
            }
            finished = true
            let outcome = process.wait()
            let text = String(decoding: line, as: UTF8.self)
            guard outcome.status == 0, text.hasPrefix("pack\t") || text.hasPrefix("keep\t") else {
                return fail("git index-pack failed (exit \(outcome.status))", stats: stats)
            }
            meter.copy(into: stats)
            stats.pointee.received_objects = stats.pointee.total_objects
            stats.pointee.indexed_objects = stats.pointee.total_objects
            stats.pointee.indexed_deltas = stats.pointee.total_deltas
            if let progress { _ = progress(stats, payload) }
            return 0
        }

        /// Stops index-pack when the fetch ended without a commit (an error or a cancel).
        func abandon() {
            guard !finished else { return }
            finished = true
            process.closeStdin()
            process.kill(SIGKILL)
            _ = process.wait()
        }

        private func fail(_ what: String, stats: UnsafeMutablePointer<git_indexer_progress>) -> Int32 {
            abandon()
            let reason = meter.lastError.map { ": " + $0 } ?? ""
            _ = git_error_set_str(Int32(GIT_ERROR_ODB.rawValue), what + reason)
            return GIT_ERROR.rawValue
        }

        private static func same(_ a: git_indexer_progress, _ b: git_indexer_progress) -> Bool {
            a.received_objects == b.received_objects && a.indexed_deltas == b.indexed_deltas && a.total_deltas == b.total_deltas
        }
    }

    /// Reads index-pack's progress lines ("Receiving objects:  45% (450/1000)…", "Resolving deltas:  …
    /// (10/20)", separated by CR or LF) and keeps its last error line.
    final class Meter: @unchecked Sendable {
        private let lock = NSLock()
        private var pending: [UInt8] = []
        private var received: UInt32 = 0
        private var resolved: UInt32 = 0
        private var deltas: UInt32 = 0
        private var error: String?

        var lastError: String? {
            lock.lock()
            defer { lock.unlock() }
            return error
        }

        func consume(_ chunk: ArraySlice<UInt8>) {
            lock.lock()
            defer { lock.unlock() }
            for byte in chunk {
                if byte == 13 || byte == 10 {
                    parse(String(decoding: pending, as: UTF8.self))
                    pending.removeAll(keepingCapacity: true)
                } else if pending.count < 1024 {
                    pending.append(byte)
                }
            }
        }

        func copy(into stats: UnsafeMutablePointer<git_indexer_progress>) {
            lock.lock()
            defer { lock.unlock() }
            let total = stats.pointee.total_objects
            stats.pointee.received_objects = total > 0 ? min(received, total) : received
            stats.pointee.indexed_objects = stats.pointee.received_objects
            stats.pointee.total_deltas = deltas
            stats.pointee.indexed_deltas = min(resolved, deltas)
        }

        private func parse(_ line: String) {
            if line.hasPrefix("fatal: ") || line.hasPrefix("error: ") {
                error = String(line.drop(while: { $0 != " " }).dropFirst())
                return
            }
            guard let open = line.lastIndex(of: "("), let slash = line[open...].firstIndex(of: "/"),
                  let close = line[slash...].firstIndex(of: ")"),
                  let done = UInt32(line[line.index(after: open)..<slash]),
                  let total = UInt32(line[line.index(after: slash)..<close]) else { return }
            if line.hasPrefix("Receiving objects") {
                received = done
            } else if line.hasPrefix("Resolving deltas") {
                resolved = done
                deltas = total
            }
        }
    }
}
