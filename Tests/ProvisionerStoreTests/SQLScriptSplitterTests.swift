import Testing
@testable import ProvisionerStore

@Suite struct SQLScriptSplitterTests {
    @Test(arguments: [
        ("SELECT 1", ["SELECT 1"]),
        ("SELECT 1; SELECT 2;", ["SELECT 1", "SELECT 2"]),
        ("SELECT ';'; SELECT 2", ["SELECT ';'", "SELECT 2"]),
        ("SELECT 'it''s; fine'; SELECT 2", ["SELECT 'it''s; fine'", "SELECT 2"]),
        ("SELECT E'a\\';b'; SELECT 2", ["SELECT E'a\\';b'", "SELECT 2"]),
        ("SELECT \"a;b\" FROM t; SELECT 2", ["SELECT \"a;b\" FROM t", "SELECT 2"]),
        ("-- a comment; with a semicolon\nSELECT 1;", ["-- a comment; with a semicolon\nSELECT 1"]),
        ("/* one; /* nested; */ still; */ SELECT 1; SELECT 2", ["/* one; /* nested; */ still; */ SELECT 1", "SELECT 2"]),
        ("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$; SELECT 2", ["CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$", "SELECT 2"]),
        ("DO $body$ BEGIN PERFORM 1; RAISE NOTICE '$$;'; END $body$; SELECT 2", ["DO $body$ BEGIN PERFORM 1; RAISE NOTICE '$$;'; END $body$", "SELECT 2"]),
        ("SELECT $1::int; SELECT 2", ["SELECT $1::int", "SELECT 2"]),
        ("SELECT a$b$c FROM t; SELECT 2", ["SELECT a$b$c FROM t", "SELECT 2"]),
        ("  ;  ; -- only comments\n", []),
        ("", []),
    ])
    func splits(script: String, expected: [String]) throws {
        #expect(try SQLScriptSplitter.statements(in: script) == expected)
    }

    @Test(arguments: [
        ("SELECT 'open", "string"),
        ("SELECT \"open", "quoted identifier"),
        ("/* open", "block comment"),
        ("DO $$ BEGIN", "dollar-quoted body $$"),
    ])
    func refusesUnterminated(script: String, construct: String) {
        #expect(throws: SQLScriptSplitter.UnterminatedError(construct: construct, line: 1)) {
            try SQLScriptSplitter.statements(in: script)
        }
    }
}
