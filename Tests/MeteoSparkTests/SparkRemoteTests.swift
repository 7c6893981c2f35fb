import Foundation
import MeteoAnalytics
import MeteoArrow
import MeteoCore
import Testing
@testable import MeteoSpark

@Suite("Spark Connect address, SQL text and result tables")
struct SparkRemoteTests {
    @Test func connectionStringsParseAsSparksClientsRead() throws {
        let plain = try SparkRemote(parsing: "sc://127.0.0.1:15002")
        #expect(plain.host == "127.0.0.1" && plain.port == 15002 && !plain.useTLS && plain.token == nil)
        let defaults = try SparkRemote(parsing: "sc://spark.example.org")
        #expect(defaults.port == 15002)
        let full = try SparkRemote(parsing: "sc://h:443/;token=s3cret;user_id=ana;session_id=0F2E6B0C-6D1E-4E0B-9B7A-2B1C3D4E5F60")
        #expect(full.token == "s3cret" && full.useTLS, "a token turns TLS on")
        #expect(full.userID == "ana" && full.sessionID == "0f2e6b0c-6d1e-4e0b-9b7a-2b1c3d4e5f60")
        let noTLS = try SparkRemote(parsing: "sc://h:1/;token=t;use_ssl=false")
        #expect(!noTLS.useTLS)
        let v6 = try SparkRemote(parsing: "sc://[::1]:15003")
        #expect(v6.host == "::1" && v6.port == 15003)
        #expect(v6.description == "sc://[::1]:15003")
        #expect(SparkRemote(host: "a").sessionID != SparkRemote(host: "a").sessionID, "each client its own session")
    }

    @Test func badStringsSayWhatIsWrongWithoutTheToken() {
        let cases: [(String, String)] = [
            ("http://h:1", "must start with sc://"),
            ("sc://", "host is missing"),
            ("sc://h:port", "port must be a number"),
            ("sc://h:70000", "between 1 and 65535"),
            ("sc://h:1/;use_ssl=maybe", "use_ssl must be true or false"),
            ("sc://h:1/;colour=red", "unknown parameter colour"),
            ("sc://h:1/;token", "needs a value"),
            ("sc://h:1/;session_id=x", "session_id must be a UUID"),
            ("sc://h:1/;token=TOPSECRET;bogus=1", "unknown parameter bogus"),
        ]
        for (text, why) in cases {
            do {
                _ = try SparkRemote(parsing: text)
                Issue.record("\(text) was accepted")
            } catch {
                #expect(error.code == .invalidConfiguration)
                #expect(error.message.contains(why), "\(text): \(error.message)")
                #expect(!error.message.contains("TOPSECRET"))
            }
        }
        let remote = try? SparkRemote(parsing: "sc://h:1/;token=TOPSECRET")
        #expect(remote?.description == "sc://h:1/;token=***")
    }

    @Test func sparkRemoteComesFromTheEnvironment() throws {
        #expect(try SparkRemote.fromEnvironment([:]) == nil)
        #expect(try SparkRemote.fromEnvironment(["SPARK_REMOTE": "sc://10.0.0.2:15010"])?.port == 15010)
    }

    @Test func literalsEscapeQuotesAndBackslashes() {
        #expect(SparkSQLText.literal("/data/lake") == "'/data/lake'")
        #expect(SparkSQLText.literal(#"it's C:\x"#) == #"'it\'s C:\\x'"#)
        #expect(SparkSQLText.literal("a\nb") == #"'a\nb'"#)
    }

    @Test func filtersBindValuesAsParametersNeverAsText() {
        var request = AnalysisRequestFixture.request
        request.region = "'; DROP VIEW x; --"
        request.placeIDs = ["1", "{\"$ne\": null}"]
        let (condition, parameters) = SparkEngine.filter(request)
        #expect(!condition.contains("DROP") && !condition.contains("$ne"))
        #expect(condition == "region = :region AND place_id IN (:place0, :place1) AND t >= :since AND t < :until")
        #expect(parameters["region"] == .string("'; DROP VIEW x; --"))
        #expect(parameters["place1"] == .string("{\"$ne\": null}"))
        #expect(parameters["since"] == .double(1_795_939_200))
        var none = request
        none.placeIDs = []
        #expect(SparkEngine.filter(none).0.contains("FALSE"))
    }

    @Test func relativeLakePathsAreMadeAbsoluteForTheServer() {
        #expect(SparkEngine.resolve("/abs/lake") == "/abs/lake")
        #expect(SparkEngine.resolve("hdfs://nn:8020/lake") == "hdfs://nn:8020/lake")
        let relative = SparkEngine.resolve("lake")
        #expect(relative.hasPrefix("/") && relative.hasSuffix("/lake"))
    }

    @Test func batchesJoinIntoOneTableByColumn() throws {
        let a = ArrowRecordBatch(length: 2, columns: [.int([1, nil]), .double([0.5, nil]), .string(["a", nil])])
        let b = ArrowRecordBatch(length: 1, columns: [.null(count: 1), .decimal([2.5]), .string(["c"])])
        let fields = [ArrowField(name: "n", type: .int(bits: 64, signed: true), nullable: true),
                      ArrowField(name: "x", type: .float(bits: 64), nullable: true),
                      ArrowField(name: "s", type: .utf8, nullable: true)]
        let table = try SparkTable(fields: fields, batches: [a, b])
        #expect(table.count == 3)
        #expect(try table.ints("n") == [1, nil, nil])
        #expect(try table.doubles("x") == [0.5, nil, 2.5])
        #expect(try table.doubles("n") == [1, nil, nil])
        #expect(try table.strings("s") == ["a", nil, "c"])
        #expect(throws: MeteoError.self) { try table.strings("n") }
        #expect(throws: MeteoError.self) { try table.ints("missing") }
        let mixed = ArrowRecordBatch(length: 1, columns: [.string(["x"]), .double([1]), .string(["d"])])
        #expect(throws: MeteoError.self) { try SparkTable(fields: fields, batches: [a, mixed]) }
    }
}

enum AnalysisRequestFixture {
    static var request: MeteoAnalytics.AnalysisRequest {
        MeteoAnalytics.AnalysisRequest(since: Date(timeIntervalSince1970: 1_795_939_200), until: Date(timeIntervalSince1970: 1_795_942_800))
    }
}
