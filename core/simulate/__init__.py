"""Sample e-commerce world: a seeded shop with catalogue, users, sessions and ground truth.

:func:`core.simulate.world.simulate_world` writes four tables into a folder:

``events``
    The behaviour log in the canonical event columns (``user_id, item_id, event, ts, session_id,
    query, value``), sorted by time. Search rows carry the query and no item; ``value`` is the
    price on ``add_to_cart`` and ``purchase`` rows.
``catalog``
    The canonical catalogue columns plus the attribute columns ``colour, material, size,
    feature``.
``ground_truth_users`` / ``ground_truth_sessions``
    The hidden parameters that produced the log: each user's tastes (category affinity, favourite
    brands, brand loyalty, price sensitivity, bot flag) and each session's target product, for
    oracle checks of models.

How the world works
-------------------
* A fixed category tree (top > sub-category > product type) with per-type attribute vocabularies
  and log-normal prices. Products get a brand (Zipf popularity within the top category), a model
  name, attributes, a title and a 2-4 sentence description assembled from varied templates. About a
  quarter of the products are released during the simulated period, so the last weeks hold
  cold-start items; no event touches a product before its ``first_seen``.
* Users have a sparse, nested Dirichlet affinity (top categories, then sub-categories), a
  favourite brand per top category, a brand loyalty, a price sensitivity and a log-normal
  activity rate; some join during the period.
* A session has an intent: a sub-category drawn from the user's affinity (or, sometimes, from the
  whole shop), a product type, and a target product chosen among popularity-weighted candidates by
  the user's tastes (Gumbel-max over price, brand and novelty). The user may search (queries built
  from the target's attributes with synonyms, partial words and typos), views the target and a few
  similar candidates, clicks, adds to cart and buys following a funnel. Some sessions return to the
  target of an earlier session, where buying is more likely.
* A few bots crawl the catalogue in bursts of very long, fast sessions.

Everything is vectorised with numpy over batches of sessions and written in chunks of
``CHUNK_EVENTS`` rows: ten million events take under a minute and under a gigabyte of memory.

Modules, in the order the stages run
------------------------------------
``vocabulary``
    The category tree and word lists (data).
``size``
    The period and how users, products and bots scale with the number of events.
``sampling``, ``columns``
    Vectorised sampling inside groups; prefixed ids and timestamps.
``catalog``, ``product_text``
    Products with attributes, prices, popularity and release dates; their titles and descriptions.
``users``
    Users and their hidden tastes.
``sessions``
    Session planning: intent, target, funnel; bot bursts.
``events``, ``queries``
    Planned sessions expanded into time-ordered events; search queries for the targets.
``tables``
    The written tables and the file writer.
``world``
    :func:`~core.simulate.world.simulate_world`, :func:`~core.simulate.world.build_catalog` and
    the ``python -m core simulate`` command line.
"""
