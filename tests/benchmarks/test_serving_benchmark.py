"""An export loaded once as TF Serving loads it (TF1 Session), called from 8 threads with a
few hundred mixed requests: every valid answer equals the same request made alone, every
invalid one is INVALID_ARGUMENT and disturbs no other, memory stays bounded."""

import pytest

from tf_lm.benchmarks.export_benchmark import ServedExport
from tf_lm.benchmarks.serving_benchmark import (INVALID, ServedCalls, bench_serving,
                                                check_answers, mixed_requests,
                                                serve_concurrently)

PROMPTS = ["First Citizen:", "Speak, speak.", "", "You are all resolved", "All:\n"]
LIMIT = 40
# what the refusal of each kind of bad request must say
NAMED = {"max_new_tokens above the limit": "max_new_tokens must be an integer in [1, 40]",
         "max_new_tokens 0": "max_new_tokens must be an integer in [1, 40]",
         "temperature -1": "temperature must be finite and >= 0",
         "top_p 1.5": "top_p must be in (0, 1]",
         "top_k -3": "top_k must be an integer >= 0",
         "per-row values for another batch": "seed must be one value or one per prompt",
         "prompt not UTF-8": "prompts",
         "prompt longer than max_input_tokens": "prompts may have at most 64 tokens"}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from tests.serving.test_serving_module import CHAR, gpt
    from tf_lm.config.export_config import ExportConfig
    from tf_lm.serving import export_model

    config = ExportConfig(max_new_tokens_limit=LIMIT, default_max_new_tokens=8,
                          max_input_tokens=64)
    path = export_model(gpt(CHAR), CHAR, str(tmp_path_factory.mktemp("export")), "tf_lm",
                        export_config=config)
    served = ServedExport(path)
    yield served
    served.session.close()


def test_mixed_requests_cover_the_samplers_and_every_kind_of_bad_request():
    requests = mixed_requests(PROMPTS, 300, LIMIT, 64, seed=0, invalid_share=0.15)
    reasons = {r["_invalid"] for r in requests}
    assert reasons - {None} == set(INVALID)  # every way of being wrong is tried
    assert {len(r["prompts"]) for r in requests} == {1, 2, 3, 4}
    assert {"temperature", "top_k", "top_p", "repetition_penalty"} <= {
        key for r in requests for key in r}
    assert mixed_requests(PROMPTS, 300, LIMIT, 64, seed=0, invalid_share=0.15) == requests


def test_eight_clients_get_the_answers_of_requests_made_alone(served):
    calls = ServedCalls(served)
    requests = mixed_requests(PROMPTS, 200, LIMIT, 64, seed=1, invalid_share=0.15)
    alone = [calls(r)[0] for r in requests]
    invalid = [a for r, a in zip(requests, alone) if r["_invalid"]]
    assert invalid and all(a[0] == "INVALID_ARGUMENT" for a in invalid)
    assert all(a[0] == "ok" for r, a in zip(requests, alone) if not r["_invalid"])
    # what each refusal says names the input and the rule
    said = {r["_invalid"]: a[1] for r, a in zip(requests, alone) if r["_invalid"]}
    assert len(said) >= 5
    for reason, message in said.items():
        assert NAMED[reason] in message, (reason, message[:300])
    together, latencies, seconds = serve_concurrently(calls, requests, clients=8)
    assert check_answers(requests, alone, together) == []
    assert len(latencies) == len(requests) and seconds > 0

    # check_answers sees a wrong answer (the comparison is not vacuous)
    first_ok = next(i for i, r in enumerate(requests) if not r["_invalid"])
    spoiled = list(together)
    spoiled[first_ok] = ("ok", {**together[first_ok][1], "num_tokens": [-1]})
    assert [i for i, _ in check_answers(requests, alone, spoiled)] == [first_ok]


def test_bench_serving_reports_throughput_latency_and_memory(served):
    results = bench_serving(served, PROMPTS, clients=(1, 4), count=40, limit=LIMIT,
                            max_input_tokens=64)
    assert [r["clients"] for r in results] == [1, 4]
    for result in results:
        assert result["wrong"] == 0 and result["requests"] == 40 and result["invalid"] > 0
        assert result["requests_per_second"] > 0
        assert 0 < result["p50_ms"] <= result["p99_ms"]
        assert result["rss_growth_mb"] < 64  # after the warm-up the runs allocate no model
