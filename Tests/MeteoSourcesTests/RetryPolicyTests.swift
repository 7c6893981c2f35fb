import Foundation
import MeteoSources
import Testing

@Suite("Retry policy")
struct RetryPolicyTests {
    @Test func fullJitterExponentialBackoffIsCapped() {
        let p = RetryPolicy(maxAttempts: 10, baseDelay: .milliseconds(100), maxDelay: .seconds(1))
        #expect(p.delay(beforeRetry: 1, random: 0.999_999) <= .milliseconds(100))
        #expect(p.delay(beforeRetry: 3, random: 0.999_999) > .milliseconds(390))
        #expect(p.delay(beforeRetry: 3, random: 0.999_999) <= .milliseconds(400))
        #expect(p.delay(beforeRetry: 30, random: 0.999_999) <= .seconds(1))
        #expect(p.delay(beforeRetry: 5, random: 0) == .zero)
        #expect(p.delay(beforeRetry: 1, retryAfter: .seconds(30), random: 0.5) == .seconds(1))
        #expect(p.delay(beforeRetry: 1, retryAfter: .milliseconds(250), random: 0.5) == .milliseconds(250))
    }

    @Test func retryAfterSecondsAndHTTPDate() {
        #expect(RetryPolicy.parseRetryAfter("120") == .seconds(120))
        let now = Date(timeIntervalSince1970: 1_445_412_450)  // 2015-10-21T07:27:30Z
        #expect(RetryPolicy.parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now: now) == .seconds(30))
        #expect(RetryPolicy.parseRetryAfter("Wed, 21 Oct 2015 07:20:00 GMT", now: now) == .zero)
        #expect(RetryPolicy.parseRetryAfter("soon") == nil)
    }
}
