import Foundation
import TOMLKit

/// The declarative mirror list (`import` / `export`), like a tunasync worker config:
///
/// ```toml
/// [[mirror]]
/// name = "org/model"
/// upstream = "https://example.org/org/model.git"
/// interval = "2h"
/// lfs = "auto"
/// ```
public enum MirrorList {
    public static let knownKeys = ["name", "upstream", "interval", "lfs", "lfs_url", "prune", "insecure_tls", "private", "lfs_keep", "lfs_archive", "refs", "max_rate"]

    /// Parses and validates a whole file; any error names the entry and key, and nothing is applied.
    public static func parse(_ text: String, file: String) throws -> [Mirror] {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigError.mirrorList(file: file, reason: "line \(error.source.begin.line): \(error.description): fix the TOML syntax")
        } catch {
            throw ConfigError.mirrorList(file: file, reason: "not valid TOML: \(error)")
        }
        for key in table.keys where key != "mirror" {
            throw ConfigError.mirrorList(file: file, reason: "unknown top-level key '\(key)': the file holds [[mirror]] entries only")
        }
        guard let value = table["mirror"] else { return [] }
        guard let entries = value.array else {
            throw ConfigError.mirrorList(file: file, reason: "'mirror' must be an array of tables: write [[mirror]]")
        }
        var mirrors: [Mirror] = []
        var seen = Set<String>()
        for (index, entry) in entries.enumerated() {
            let label = "mirror #\(index + 1)"
            guard let t = entry.table else {
                throw ConfigError.mirrorList(file: file, reason: "\(label) is not a table: write [[mirror]] entries")
            }
            func fail(_ reason: String) -> ConfigError {
                let name = t["name"]?.string.map { " (\(Redactor.quote($0)))" } ?? ""
                return .mirrorList(file: file, reason: "\(label)\(name): \(reason)")
            }
            for key in t.keys where !knownKeys.contains(key) {
                throw fail("unknown key '\(key)' (known keys: \(knownKeys.joined(separator: ", ")))")
            }
            func string(_ key: String, required: Bool) throws -> String? {
                guard let v = t[key] else {
                    if required { throw fail("missing '\(key)'") }
                    return nil
                }
                guard let s = v.string else { throw fail("'\(key)' must be a string") }
                return s
            }
            func bool(_ key: String, default def: Bool) throws -> Bool {
                guard let v = t[key] else { return def }
                guard let b = v.bool else { throw fail("'\(key)' must be true or false") }
                return b
            }
            do {
                let name = try string("name", required: true)!
                guard seen.insert(name).inserted else { throw fail("name listed twice") }
                var mirror = Mirror(name: name, upstream: try string("upstream", required: true)!)
                if let interval = try string("interval", required: false) { mirror.intervalSeconds = try Interval.parse(interval) }
                if let lfs = try string("lfs", required: false) { mirror.lfs = try LFSMode.parse(lfs) }
                mirror.lfsURL = try string("lfs_url", required: false)
                mirror.prune = try bool("prune", default: true)
                mirror.insecureTLS = try bool("insecure_tls", default: false)
                mirror.isPrivate = try bool("private", default: false)
                if let refs = try string("refs", required: false) { mirror.refFilter = try RefFilter.parse(refs) }
                if let rate = try string("max_rate", required: false) {
                    do { mirror.maxRate = try AuditOptions.parseRate(rate) } catch { throw fail("'max_rate' \(error)") }
                }
                if let keep = try string("lfs_keep", required: false) { mirror.lfsKeep = try LFSKeepPolicy.parse(keep) }
                mirror.lfsArchive = try string("lfs_archive", required: false)
                mirrors.append(try mirror.validated())
            } catch let error as ConfigError {
                if case .mirrorList = error { throw error }
                throw fail(error.description)
            }
        }
        return mirrors
    }

    /// Writes mirrors as a TOML list that `parse` reads back unchanged.
    public static func render(_ mirrors: [Mirror]) -> String {
        var out = "# MirrorDeck mirror list: load it with 'mirrordeck import FILE'\n"
        for m in mirrors {
            out += "\n[[mirror]]\n"
            out += "name = \(tomlString(m.name))\n"
            out += "upstream = \(tomlString(m.upstream))\n"
            out += "interval = \(tomlString(Interval.format(m.intervalSeconds)))\n"
            out += "lfs = \(tomlString(m.lfs.rawValue))\n"
            if let url = m.lfsURL { out += "lfs_url = \(tomlString(url))\n" }
            if !m.prune { out += "prune = false\n" }
            if m.insecureTLS { out += "insecure_tls = true\n" }
            if m.isPrivate { out += "private = true\n" }
            if !m.refFilter.isAll { out += "refs = \(tomlString(m.refFilter.description))\n" }
            if let rate = m.maxRate { out += "max_rate = \(tomlString(String(rate)))\n" }
            if m.lfsKeep != .all { out += "lfs_keep = \(tomlString(m.lfsKeep.description))\n" }
            if let archive = m.lfsArchive { out += "lfs_archive = \(tomlString(archive))\n" }
        }
        return out
    }

    private static func tomlString(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    out += String(format: "\\u%04X", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
