/// Validates mirror names before they are used to build any path.
///
/// A name is `repo` or `owner/repo`; each part starts with a letter or digit and holds only
/// letters, digits, `.`, `_` and `-`. Nothing a name can contain reaches outside `mirrors/`.
public enum MirrorName {
    public static let maxLength = 100

    /// Returns the name unchanged when it is valid, or throws `ConfigError.invalidName`.
    @discardableResult
    public static func validate(_ name: String) throws -> String {
        func fail(_ reason: String) -> ConfigError { .invalidName(name, reason: reason) }
        if name.isEmpty { throw fail("it is empty") }
        if name.utf8.count > maxLength { throw fail("it is longer than \(maxLength) characters") }
        if name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
            throw fail("it contains control characters")
        }
        if name.hasPrefix("/") { throw fail("it is an absolute path") }
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count > 2 { throw fail("it has more than one '/'") }
        for part in parts {
            if part.isEmpty { throw fail("it has an empty part") }
            if part == "." || part == ".." { throw fail("it contains '\(part)'") }
            guard let first = part.unicodeScalars.first, isAlnum(first) else {
                throw fail("each part must start with a letter or digit")
            }
            if let bad = part.unicodeScalars.first(where: { !(isAlnum($0) || $0 == "." || $0 == "_" || $0 == "-") }) {
                throw fail("it contains \(Redactor.quote(String(bad)))")
            }
            if part.hasSuffix(".git") || part.hasSuffix(".lock") {
                throw fail("a part may not end in .git or .lock")
            }
        }
        return name
    }

    /// Whether `name` passes `validate`.
    public static func isValid(_ name: String) -> Bool {
        (try? validate(name)) != nil
    }

    private static func isAlnum(_ s: Unicode.Scalar) -> Bool {
        (s >= "a" && s <= "z") || (s >= "A" && s <= "Z") || (s >= "0" && s <= "9")
    }
}
