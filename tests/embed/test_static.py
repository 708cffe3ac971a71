"""The static encoder's own path (the tokenizer run directly, the mean a kernel, plain texts without
the BERT normaliser) gives model2vec's vectors: the same tokens, truncation, unknown-token rule and
normalisation, on texts that reach every branch."""

from __future__ import annotations

import numpy as np
import pytest

from cltool.embed.model import bundled_model_path
from cltool.embed.static import StaticEncoder
from tests.conftest import write_random_static_model

TEXTS = [
    "How do I sort a list in Python?",  # plain ASCII
    "Tabs\tand\nnew lines\r\nand  double  spaces",  # whitespace BERT turns into spaces
    "control\x07char and \x0bvertical tab",  # controls BERT's clean_text removes
    "Café au lait, naïve façade",  # accents BERT strips
    "混合 Chinese 字符 and ASCII",  # CJK BERT spaces out
    "",  # no token: a zero vector
    "   ",
    "a" * 150,  # one word longer than WordPiece's 100 characters: [UNK], which model2vec drops
    "[UNK] [SEP] [CLS] literal special tokens",
    "UPPER lower MiXeD 123 4.5e6 $%^&*()",
    " ".join(["word"] * 700),  # longer than max_length: truncated
    "émoji 🙂 and ümlauts",
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A model2vec model with random vectors over the bundled model's BERT tokenizer (no distilling)."""
    return write_random_static_model(tmp_path_factory.mktemp("static"), 16)


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("max_length", [None, 64])
def test_the_static_encoder_gives_model2vecs_vectors(model_dir, normalize, max_length):
    encoder = StaticEncoder(model_dir, normalize=normalize, max_length=max_length)
    assert encoder._plain_tokenizer is not None  # the BERT tokenizer's fast path is taken
    ours = encoder.encode(TEXTS, None)
    theirs = np.asarray(encoder.model.encode(TEXTS, max_length=max_length or 512, normalize=normalize),
                        dtype=np.float32)
    assert ours.dtype == np.float32 and ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)
    assert not ours[TEXTS.index("")].any()
    with_prompt = encoder.encode(TEXTS[:3], "query: ")
    np.testing.assert_allclose(with_prompt, encoder.encode(["query: " + t for t in TEXTS[:3]], None), atol=0)


def test_plain_texts_skip_only_what_the_normaliser_would_not_change(model_dir):
    encoder = StaticEncoder(model_dir, normalize=True, max_length=None)
    ours = encoder._token_ids(TEXTS)
    theirs = [e.ids for e in encoder._tokenizer.encode_batch_fast(TEXTS, add_special_tokens=False)]
    assert ours == theirs


def test_the_plain_path_is_taken_only_where_it_is_exact(model_dir, tmp_path):
    """BERT's normaliser is skipped for plain texts only where the pre-tokenizer splits on tabs and
    line breaks (the normaliser would have made them spaces); a float16 table, which model2vec means
    in float16, is left to model2vec."""
    from tokenizers import Tokenizer, pre_tokenizers

    from cltool.embed.static import _plain_text_tokenizer

    tokenizer = Tokenizer.from_file(str(bundled_model_path() / "tokenizer.json"))
    assert _plain_text_tokenizer(tokenizer) is not None
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    assert _plain_text_tokenizer(tokenizer) is None
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Digits()])
    assert _plain_text_tokenizer(tokenizer) is not None

    from model2vec import StaticModel

    full = StaticEncoder(model_dir, normalize=True, max_length=None).model
    StaticModel(vectors=full.embedding.astype(np.float16), tokenizer=full.tokenizer,
                normalize=True).save_pretrained(str(tmp_path / "half"))
    assert StaticEncoder(tmp_path / "half", normalize=True, max_length=None)._table is None


def _ascii_texts(count: int, seed: int) -> list[str]:
    """Random ASCII: words of letters (some upper case), digits, every punctuation character, runs of
    whitespace, the odd control character, words past WordPiece's 100 characters, added tokens."""
    rng = np.random.default_rng(seed)
    pieces = ["the", "tokenizer", "Unaffable", "xqzvw", "##ing", "[unk", "MASK]", "a" * 101, "b" * 100, "\t", "\n",
              "\r\n", "  ", "3.14", "e-mail", "C++", "don't", *"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
              *"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"]
    not_plain = ["naïve", "[SEP]", "[unk]", "\x07", "\x0b", "\x7f"]
    texts = []
    for _ in range(count):
        parts = list(rng.choice(pieces, size=rng.integers(0, 40)))
        if rng.random() < 0.2:
            parts.insert(int(rng.integers(0, len(parts) + 1)), rng.choice(not_plain))
        texts.append("".join(p + (" " if rng.random() < 0.5 else "") for p in parts))
    return texts


def test_the_wordpiece_kernel_gives_the_tokenizers_ids(model_dir):
    """Every plain text's ids are the tokenizer's, to the id and the truncation; the texts that are
    not plain (a control character, a non-ASCII character, an added token) are left to it."""
    for max_length in (512, 7):
        encoder = StaticEncoder(model_dir, normalize=True, max_length=max_length)
        assert encoder._wordpiece is not None
        texts = TEXTS + _ascii_texts(3000, seed=max_length)
        ids, counts, rest = encoder._wordpiece.tokenize(texts)
        theirs = [e.ids for e in encoder._tokenizer.encode_batch_fast(texts, add_special_tokens=False)]
        offsets = np.concatenate([[0], np.cumsum(np.maximum(counts, 0))])
        for i, text in enumerate(texts):
            if counts[i] >= 0:
                assert ids[offsets[i]:offsets[i + 1]].tolist() == theirs[i], text
        assert set(rest.tolist()) == {i for i, t in enumerate(texts) if not t.isascii() or "\x07" in t
                                      or "\x0b" in t or "\x7f" in t or "[SEP]" in t or "[UNK]" in t.upper()
                                      or "[MASK]" in t.upper() or "[CLS]" in t.upper() or "[PAD]" in t.upper()}
        assert 0 < len(rest) < len(texts) // 2
        ours = encoder.encode(texts, None)
        encoder._wordpiece = None
        np.testing.assert_array_equal(ours, encoder.encode(texts, None))


def test_the_wordpiece_kernel_is_only_for_berts_tokenizer():
    from tokenizers import Tokenizer, pre_tokenizers

    from cltool.embed.static import WordPiece

    tokenizer = Tokenizer.from_file(str(bundled_model_path() / "tokenizer.json"))
    assert WordPiece.from_tokenizer(tokenizer, 512) is not None
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()  # groups punctuation runs: another split
    assert WordPiece.from_tokenizer(tokenizer, 512) is None


def test_an_added_token_matched_after_normalisation_keeps_its_texts_off_the_kernel():
    """`Café` added as a normalised token is matched in "cafe" and "CAFE" (the normaliser strips the
    accent and lowercases): those texts go to the tokenizer, which gives the added token's id."""
    from tokenizers import AddedToken, Tokenizer

    from cltool.embed.static import WordPiece, added_token_forms

    tokenizer = Tokenizer.from_file(str(bundled_model_path() / "tokenizer.json"))
    tokenizer.add_tokens([AddedToken("Café", normalized=True)])
    assert "cafe" in added_token_forms(tokenizer)
    texts = ["cafe au lait", "a CAFE here", "tea"]
    ids, counts, rest = WordPiece.from_tokenizer(tokenizer, 512).tokenize(texts)
    assert rest.tolist() == [0, 1] and counts[2] >= 1
    added = tokenizer.token_to_id("Café")
    assert all(added in e.ids for e in tokenizer.encode_batch_fast(texts[:2], add_special_tokens=False))
