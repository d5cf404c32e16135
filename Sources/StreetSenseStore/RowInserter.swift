import GRDB
import GRDBSQLite

/// Inserts many rows with multi-row `INSERT … VALUES (…), (…), …` statements of fixed sizes (128, 16 and 1
/// rows), each prepared once per connection and cached by GRDB.
///
/// This is the store's hot path (DESIGN §9: ≥ 500 000 readings/s). Values are bound straight into the
/// prepared statement with `sqlite3_bind_*` and the statement is stepped here: no argument arrays, no
/// per-row allocation. The raw statement pointer never leaves this file. Errors from SQLite are thrown as
/// GRDB `DatabaseError`s, so the surrounding `DatabasePool.write` rolls the transaction back as usual.
struct RowInserter {
    /// Rows per statement, largest first; the last must be 1 so that every count can be written.
    static let chunkSizes = [128, 16, 1]

    let columns: Int
    /// The SQL for each of ``chunkSizes``, in the same order.
    private let statements: [String]

    /// - parameters:
    ///   - target: `table (column, …)`.
    ///   - upsert: an optional `ON CONFLICT …` clause.
    init(into target: String, columns: Int, upsert: String = "") {
        self.columns = columns
        let row = "(" + Array(repeating: "?", count: columns).joined(separator: ",") + ")"
        statements = Self.chunkSizes.map { size in
            "INSERT INTO \(target) VALUES " + Array(repeating: row, count: size).joined(separator: ",") + " " + upsert
        }
    }

    /// Inserts `rows`, calling `bind` to bind each row's `columns` values in order.
    @inline(__always)
    func insert<Element>(_ rows: [Element], _ db: Database, bind: (Element, inout RowBinder) -> Void) throws {
        var index = rows.startIndex
        for (size, sql) in zip(Self.chunkSizes, statements) where rows.endIndex - index >= size {
            let statement = try db.cachedStatement(sql: sql).sqliteStatement
            defer {
                sqlite3_reset(statement)
                sqlite3_clear_bindings(statement)  // frees copies of bound text and blobs
            }
            while rows.endIndex - index >= size {
                sqlite3_reset(statement)
                var binder = RowBinder(statement: statement)
                for row in rows[index..<(index + size)] { bind(row, &binder) }
                assert(binder.failure != SQLITE_OK || binder.count == Int32(size * columns), "wrong number of values")
                let code = binder.failure == SQLITE_OK ? sqlite3_step(statement) : binder.failure
                guard code == SQLITE_DONE else { throw Self.error(code, statement: statement) }
                index += size
            }
        }
    }

    private static func error(_ code: CInt, statement: OpaquePointer) -> DatabaseError {
        let connection = sqlite3_db_handle(statement)
        let extended = connection.map { sqlite3_extended_errcode($0) } ?? code
        let message = connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
        return DatabaseError(resultCode: ResultCode(rawValue: extended), message: message)
    }
}

/// Binds the parameters of one multi-row statement in order. Remembers the first failure, which
/// ``RowInserter`` reports instead of stepping.
struct RowBinder: ~Copyable {
    fileprivate let statement: OpaquePointer
    fileprivate private(set) var count: Int32 = 0
    fileprivate private(set) var failure: CInt = SQLITE_OK

    fileprivate init(statement: OpaquePointer) { self.statement = statement }

    @inline(__always)
    private mutating func check(_ code: CInt) {
        if code != SQLITE_OK, failure == SQLITE_OK { failure = code }
    }

    @inline(__always)
    mutating func bind(_ value: Int64) {
        count += 1
        check(sqlite3_bind_int64(statement, count, value))
    }

    @inline(__always)
    mutating func bind(_ value: Double) {
        count += 1
        check(sqlite3_bind_double(statement, count, value))
    }

    @inline(__always)
    mutating func bind(_ value: Int64?) {
        guard let value else { return bindNull() }
        bind(value)
    }

    mutating func bind(_ value: String?) {
        count += 1
        guard var value else { return check(sqlite3_bind_null(statement, count)) }
        let code = value.withUTF8 { text in
            // An empty buffer may have no address, and a null pointer would bind NULL: bind "" explicitly.
            guard let base = text.baseAddress, text.count > 0 else {
                return sqlite3_bind_text(statement, count, "", 0, transient)
            }
            return base.withMemoryRebound(to: CChar.self, capacity: text.count) {
                sqlite3_bind_text(statement, count, $0, Int32(text.count), transient)
            }
        }
        check(code)
    }

    /// Binds a BLOB (never NULL: an empty array binds an empty blob).
    mutating func bind(blob bytes: ArraySlice<UInt8>) {
        count += 1
        let code = bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress, buffer.count > 0 else { return sqlite3_bind_zeroblob(statement, count, 0) }
            return sqlite3_bind_blob(statement, count, base, Int32(buffer.count), transient)
        }
        check(code)
    }

    mutating func bindNull() {
        count += 1
        check(sqlite3_bind_null(statement, count))
    }
}

/// SQLite copies the bound value (text and blobs only; the buffers are temporary).
private let transient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
