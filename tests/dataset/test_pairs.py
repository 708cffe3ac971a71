from cltool.dataset.pairs import normalize_text, text_id


def test_ids_are_stable_hashes_of_the_normalised_text():
    assert normalize_text("  a\u00a0 b\n\tc ") == "a b c"
    assert text_id("a  b") == text_id(" a b ") == text_id("a\u00a0b")
    assert text_id("A b") != text_id("a b")  # case is meaning (code, names)
    assert len(text_id("x")) == 16 and int(text_id("x"), 16) >= 0
    # pinned: ids are part of the data contract and must not change between versions
    assert text_id("x") == "4adf4367f96e584f"
