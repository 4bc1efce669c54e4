"""The quality targets of issue #13 on the quality benchmark's quick corpus, with the real offline models.

The quick corpus (`vidscribe.app.bench.quality.corpus.QUICK`): pyannote's sample with its STM/RTTM
references, two espeak-ng dialogues (voice pairs A and B) whose turns change after 0.1 s, with short
replies, speech among silence, chords and noise, and an English-then-German clip. The pipeline runs once per
item (module fixture, plain stages, no Prefect, no database); each target is its own test, so a report shows
which hold.
The metric tests below them check the definitions on hand-made transcripts (no model).
"""

from __future__ import annotations

import pytest

from vidscribe.app.bench.quality.metrics import (
    HypWord, Rate, der, inserted_words, loops, nonspeech_spans, wder, word_error_rates,
)
from vidscribe.app.bench.quality.normalize import normalize_words
from vidscribe.app.bench.quality.reference import RefTurn, Reference, SpeakerTurn
from vidscribe.app.bench.quality.score import (
    DIALOGUE_WDER, INSERTIONS_PER_10_MIN, SAMPLE_CP_GAP_POINTS, SAMPLE_WDER, ItemResult, totals,
)


@pytest.fixture(scope="module")
def quick(settings, tmp_path_factory: pytest.TempPathFactory) -> dict[str, ItemResult]:
    """Every quick-corpus item through the pipeline once, scored (about 2 minutes on 2 cores)."""
    from vidscribe.app.bench.quality.corpus import load_corpus
    from vidscribe.app.bench.quality.run import run_corpus

    folder, items = load_corpus("quick", tmp_path_factory.mktemp("quality"))
    return {result.name: result for result in run_corpus(items, folder, settings)}


def _points(rate: Rate) -> float:
    assert rate.value is not None
    return 100 * rate.value


def _detail(result: ItemResult) -> str:
    """The item's report row (WER, cpWER, tcpWER, WDER, DER, ...) and notes, for a failure's message."""
    from vidscribe.app.bench.quality.report import header, item_row, notes

    return f"\n{header()}\n{item_row(result)}\n  " + "\n  ".join(notes(result))


# --- the targets ---------------------------------------------------------------------------------------

def test_every_item_ran_and_its_figures_are_consistent(quick):
    assert set(quick) == {"sample", "dialogue-a-fast", "dialogue-b-fast", "nonspeech", "mixed-language"}
    for result in quick.values():
        assert result.status == "ok", result.status
        assert result.segments > 0
        wer_, cp, tcp = (result.rates[k].value for k in ("wer", "cpwer", "tcpwer"))
        assert wer_ is not None and cp is not None and tcp is not None
        assert cp <= tcp, _detail(result)  # the time constraint only takes matches away
    assert quick["mixed-language"].ignored is not None  # what was stored for the German half is reported


def test_on_pyannotes_sample_cpwer_is_within_3_points_of_wer(quick):
    sample = quick["sample"]
    gap = _points(sample.rates["cpwer"]) - _points(sample.rates["wer"])
    assert gap <= SAMPLE_CP_GAP_POINTS, _detail(sample)


def test_on_pyannotes_sample_at_most_3_percent_of_correct_words_have_the_wrong_speaker(quick):
    sample = quick["sample"]
    assert _points(sample.rates["wder"]) <= 100 * SAMPLE_WDER, _detail(sample)


def test_fast_turn_changes_are_diarized_not_taken_for_a_monologue(quick):
    """With 0.1 s turn changes every 3 s probe of the monologue check holds both voices, and voice pair B's
    probes all look alike; the check's segmentation probe hears the second voice, so pyannote runs."""
    for name in ("dialogue-a-fast", "dialogue-b-fast"):
        assert quick[name].diarization_note == "pyannote, 2 speakers", _detail(quick[name])
    assert quick["mixed-language"].diarization_note.startswith("monologue detected"), _detail(quick["mixed-language"])


@pytest.mark.parametrize("name", ["dialogue-a-fast", "dialogue-b-fast"])
def test_on_constructed_dialogues_at_most_2_percent_of_correct_words_have_the_wrong_speaker(quick, name):
    dialogue = quick[name]
    assert dialogue.kind == "dialogue"
    assert _points(dialogue.rates["wder"]) <= 100 * DIALOGUE_WDER, _detail(dialogue)


def test_no_stored_text_loops(quick):
    looping = {name: r.loops for name, r in quick.items() if r.loops}
    assert not looping, looping


def test_at_most_one_inserted_word_per_10_minutes_of_nonspeech(quick):
    total = totals(list(quick.values()))
    assert total.nonspeech_seconds > 60  # the non-speech item's silence, chords and noise
    inserted = {name: [(w.text, round(w.start, 1)) for w in r.inserted] for name, r in quick.items() if r.inserted}
    assert total.inserted_per_10_min is not None
    assert total.inserted_per_10_min <= INSERTIONS_PER_10_MIN, inserted


# --- the metrics on hand-made transcripts ----------------------------------------------------------------------

REFERENCE = Reference(duration=20.0, turns=(
    RefTurn("Ada", 1.0, 3.0, "Hello there, my friend."),
    RefTurn("Bob", 3.5, 4.0, "Yes."),
    RefTurn("Ada", 10.0, 12.0, "It is 35 degrees."),
))


def hypothesis(speakers: str, texts: str = "hello there my friend yes it is thirty five degrees") -> list[HypWord]:
    """Words spread over the reference turns' times, speaker k of the string for word k ('A'/'B')."""
    words = texts.split()
    times = [1.0, 1.5, 2.0, 2.5, 3.6, 10.0, 10.4, 10.8, 11.2, 11.6]
    return [HypWord(t, t + 0.3, w, s) for t, w, s in zip(times, words, speakers)]


def test_wder_is_the_share_of_correct_words_given_the_wrong_speaker():
    # 10 correct words; the hypothesis speakers map A -> Ada, B -> Bob; "friend" went to B
    result = wder(REFERENCE, hypothesis("AAABBAAAAA"))
    assert result.mapping == {"A": "Ada", "B": "Bob"}
    assert (result.wrong, result.correct) == (1, 10)
    assert result.rate.value == pytest.approx(0.1)
    # a misheard word is a WER error, not also a speaker error
    assert wder(REFERENCE, hypothesis("AAABBAAAAA", "hello their my friend yes it is thirty five degrees")
                ).rate.value == pytest.approx(1 / 9)


def test_wder_labels_are_arbitrary_and_an_extra_speaker_is_wrong_for_all_its_words():
    assert wder(REFERENCE, hypothesis("XXXXYXXXXX")).rate.value == 0.0
    assert wder(REFERENCE, hypothesis("AAAABAACCC")).rate.value == pytest.approx(3 / 10)


def test_cpwer_of_a_speaker_swapped_hypothesis_equals_wer_and_a_wrong_speaker_costs_two_errors():
    swapped = word_error_rates(REFERENCE, hypothesis("BBBBABBBBB", "hello there my friend yes it is thirty five "
                                                                   "centigrade"))
    assert swapped["cpwer"] == swapped["wer"] == Rate(1, 10)  # one substitution, speakers exchanged
    moved = word_error_rates(REFERENCE, hypothesis("AAABBAAAAA"))
    assert moved["wer"] == Rate(0, 10)
    assert moved["cpwer"] == Rate(2, 10)  # "friend" deleted from Ada and inserted into Bob
    assert moved["tcpwer"] == Rate(2, 10)


def test_tcpwer_refuses_a_word_far_outside_its_collar():
    late = [HypWord(w.start + 8 if w.text == "yes" else w.start, w.end + 8 if w.text == "yes" else w.end,
                    w.text, w.speaker) for w in hypothesis("AAAABAAAAA")]
    rates = word_error_rates(REFERENCE, late)
    assert rates["cpwer"] == Rate(0, 10)
    assert rates["tcpwer"] == Rate(2, 10)  # "yes" 8 s late: beyond the 5 s collar


def test_normalisation_lower_cases_strips_punctuation_and_spells_numbers():
    assert normalize_words("It's 35 degrees, 2,000 bees & 1.5% of the 3rd hive. OK?") == [
        "its", "thirty", "five", "degrees", "two", "thousand", "bees", "and", "one", "point", "five", "percent",
        "of", "the", "third", "hive", "okay"]
    assert normalize_words("Aujourd'hui, à Paris!", "fr") == ["aujourdhui", "à", "paris"]


def test_inserted_words_are_those_in_nonspeech_away_from_speech():
    assert nonspeech_spans(REFERENCE) == [(0.0, 0.5), (4.5, 9.5), (12.5, 20.0)]
    words = [HypWord(4.2, 4.4, "near", "A"), HypWord(6.0, 6.3, "thank", "A"), HypWord(15.0, 15.2, "you", "B")]
    assert [w.text for w in inserted_words(REFERENCE, words)] == ["thank", "you"]
    ignored = Reference(duration=20.0, turns=REFERENCE.turns, ignored=((13.0, 19.0),))
    assert [w.text for w in inserted_words(ignored, words)] == ["thank"]  # unscored speech is not non-speech


def test_loops_are_3_grams_repeated_3_times_in_a_row():
    assert loops("so so so so so so so so so".split()) == [(0, 9)]
    assert loops("thank you very much thank you very much thank you very much bye".split()) == [(0, 12)]
    assert loops("thank you thank you thank you".split()) == []  # 2-gram: a polite caller, not a loop
    assert loops("the cat sat on the mat and the cat sat".split()) == []


def test_der_ignores_labels_and_counts_missed_speech():
    turns = [SpeakerTurn("Ada", 1.0, 3.0), SpeakerTurn("Bob", 3.5, 4.0), SpeakerTurn("Ada", 10.0, 12.0)]
    relabelled = [SpeakerTurn({"Ada": "S1", "Bob": "S0"}[t.speaker], t.start, t.end) for t in turns]
    assert der(turns, relabelled, [(0.0, 20.0)]).rate.value == 0.0
    missed = der(turns, relabelled[:2], [(0.0, 20.0)])
    assert (missed.missed, missed.total) == (pytest.approx(2.0), pytest.approx(4.5))
