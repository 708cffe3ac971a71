"""`cltool embed`: a `<column>_embedding` column for each chosen text column.

The input is streamed in chunks of rows (`run.py`); within a chunk every distinct (prompt, text) is
looked up in the embedding cache (`cache.py`), and only the misses go to the model (`embedder.py`),
in one `encode` call per chunk and column, which sorts them by length into batches. So memory is
bounded by the chunk, not the dataset; a text repeated across the run is embedded once; a re-run
embeds nothing.

Each embedding column carries, in its Arrow field metadata, the model, its weight fingerprint,
the prompt and normalisation (`plan.py`): they travel with the data through files and pipes, and the
manifest records the same, so later steps can refuse embeddings from different models.

`settings.py` holds the options, `columns.py` which columns are embedded and which rows cannot be,
`model.py` and `static.py` the models, `ray_embed.py` the Ray actor pool.
"""

from cltool.dataset.columns import embedding_column
from cltool.dataset.pairs import embedding_info
from cltool.embed.embedder import Embedder
from cltool.embed.run import embed
from cltool.embed.settings import Settings

__all__ = ["Embedder", "Settings", "embed", "embedding_column", "embedding_info"]
