/// Whether a mirror fetches Git LFS objects: `auto` fetches when pointers are found.
public enum LFSMode: String, Codable, CaseIterable, Sendable {
    case auto, on, off

    /// Parses `auto`, `on` or `off`; throws `ConfigError.invalidLFSMode`.
    public static func parse(_ text: String) throws -> LFSMode {
        guard let mode = LFSMode(rawValue: text.lowercased()) else { throw ConfigError.invalidLFSMode(text) }
        return mode
    }
}
