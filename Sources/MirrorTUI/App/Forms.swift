import Foundation
import MirrorCore

/// A yes/no question before an action that touches many mirrors.
public struct Confirmation: Equatable, Sendable {
    public var title: String
    public var lines: [String]
    public var action: Action
}

/// The add-a-mirror form, validated as the operator types; also the edit form of an existing mirror
/// (`original` set: the name is fixed, and settings the form does not show stay as they were).
public struct AddForm: Equatable, Sendable {
    public enum Field: Int, CaseIterable, Sendable { case name, url, interval, lfs }

    public var name = TextField()
    public var url = TextField()
    public var interval = TextField("2h")
    public var lfs: LFSMode = .auto
    public var focus: Field = .name
    /// Set after a submit attempt: errors then show for empty fields too.
    public var submitted = false
    public var existingNames: Set<String> = []

    /// The mirror being edited; nil when adding.
    public var original: Mirror?

    public init(existingNames: Set<String> = []) { self.existingNames = existingNames }

    /// The edit form of `mirror`, filled with its settings.
    public init(editing mirror: Mirror) {
        original = mirror
        name = TextField(mirror.name)
        url = TextField(mirror.upstream)
        interval = TextField(Interval.format(mirror.intervalSeconds))
        lfs = mirror.lfs
        focus = .url
    }

    public var isEditing: Bool { original != nil }

    /// The fields Tab moves between (an edited mirror's name is fixed).
    public var fields: [Field] { isEditing ? [.url, .interval, .lfs] : Field.allCases }

    /// The field after (or, with `by: -1`, before) the focused one, wrapping around.
    public func focus(movedBy step: Int) -> Field {
        let list = fields
        let i = list.firstIndex(of: focus) ?? 0
        return list[(i + step + list.count) % list.count]
    }

    /// The problem with a field, or nil when it is fine (empty fields complain only after a submit).
    public func error(_ field: Field) -> String? {
        switch field {
        case .name:
            if isEditing { return nil }
            if name.text.isEmpty { return submitted ? "a name is required, e.g. team/repo" : nil }
            do { try MirrorName.validate(name.text) } catch let e as ConfigError { return Self.short(e) } catch { return "\(error)" }
            if existingNames.contains(name.text) { return "a mirror named \(name.text) already exists" }
            return nil
        case .url:
            if url.text.isEmpty { return submitted ? "an upstream URL is required" : nil }
            do { _ = try UpstreamURL(url.text) } catch { return Self.short(error) }
            return nil
        case .interval:
            if interval.text.isEmpty { return submitted ? "an interval is required, e.g. 30m or 2h" : nil }
            do { _ = try Interval.parse(interval.text) } catch { return "not an interval: use e.g. 90s, 30m, 2h, 1d (at least 10s)" }
            return nil
        case .lfs:
            return nil
        }
    }

    /// The mirror the form describes, when every field is valid.
    public var mirror: Mirror? {
        var probe = self
        probe.submitted = true
        guard Field.allCases.allSatisfy({ probe.error($0) == nil }), let seconds = try? Interval.parse(interval.text) else { return nil }
        guard var edited = original else { return Mirror(name: name.text, upstream: url.text, intervalSeconds: seconds, lfs: lfs) }
        edited.upstream = url.text
        edited.intervalSeconds = seconds
        edited.lfs = lfs
        return edited
    }

    static func short(_ error: Error) -> String {
        switch error as? ConfigError {
        case let .invalidName(_, reason)?: return "not a valid name: \(reason)"
        case let .invalidURL(_, reason)?: return "not a valid URL: \(reason)"
        default: return "\(error)"
        }
    }
}

/// Deleting a mirror: the operator types its name; the data is kept unless they tick the box.
public struct DeleteDialog: Equatable, Sendable {
    public var name: String
    public var path: String
    public var typed = TextField()
    public var deleteData = false
    /// 0: the name field, 1: the delete-data box.
    public var focus = 0

    public init(name: String, path: String) {
        self.name = name
        self.path = path
    }

    public var confirmed: Bool { typed.text == name }
}
