"""Synthetic interactions for cold-start items, their review, and training data that uses them.

Two generators draw (user, item) interactions for items with no or few training interactions:

``neighbours`` (:func:`~core.synth.interactions.neighbours.neighbour_interactions`)
    A content baseline. Each target item's ``k`` most similar warm items (cosine over product
    vectors: encoder embeddings or TF-IDF, see
    :func:`~core.synth.interactions.inputs.product_vectors`) vote for their users:
    user ``u`` scores ``s_u = sum_j sim(t, j) * w_uj`` over the neighbours ``j`` with a positive
    similarity, and ``n_per_item`` distinct users are drawn with probability proportional to
    ``s_u ** (1 / temperature)``.
``gru`` (:class:`~core.synth.interactions.gru.GRUGenerator`)
    A session model: a GRU reads each user's training items in time order and predicts the next
    one. Items enter and leave the model only through a learned projection of their frozen
    product vectors, so the output logits ``hidden @ projected_vectors.T`` cover the whole
    catalogue, items never seen in the logs included. To generate for a target item ``t`` the
    model continues every user's real sequence by one step and users are drawn with
    probability proportional to ``p(next = t | u) ** (1 / temperature)``: under a uniform prior
    over users this is the posterior ``p(u | next = t)``, i.e. "continue the real sequences and
    keep the continuations that land on ``t``" without the wasted draws of rejection sampling.
    For chosen (sparse) users, :meth:`GRUGenerator.generate_for_users` samples their next items.

Every synthetic row carries the time of its user's latest training interaction
(:mod:`~core.synth.interactions.rows`), so it falls in the training period and never after the
split's cut-off. Rows are kept apart from the real data in the workspace table
``synthetic_interactions`` (user_id, item_id, event, ts, weight, generator, run_id, status,
created_at), added as ``pending`` in one transaction with a run record of kind
:data:`~core.data.runs.SYNTHETIC_INTERACTIONS_KIND` (:mod:`~core.synth.interactions.store`); a GRU
run also keeps its trained generator in the run's folder (:meth:`GRUGenerator.save`), so it can
generate again without training (:mod:`~core.synth.interactions.runs`: ``load_generator``,
``reuse_run`` of ``synthesize_interactions``). A reviewer accepts or rejects them in bulk
(:func:`~core.synth.interactions.store.set_interaction_status`), and
:mod:`~core.synth.interactions.augment` adds the accepted ones to a split's training
interactions so that any model trains on them.
"""
