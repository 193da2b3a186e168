"""Sample e-commerce world: a seeded shop with catalogue, users, sessions and ground truth.

:func:`simulate_world` writes four tables into a folder:

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
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from core.schema import (
    ADD_TO_CART,
    BRAND,
    CATEGORY,
    CLICK,
    DESCRIPTION,
    EVENT,
    FIRST_SEEN,
    ITEM_ID,
    PRICE,
    PURCHASE,
    QUERY,
    SEARCH,
    SESSION_ID,
    TITLE,
    TS,
    USER_ID,
    VALUE,
    VIEW,
)

Callback = Callable[[int, int, str], None]

# ---------------------------------------------------------------------------------------------
# World constants
# ---------------------------------------------------------------------------------------------

PERIOD_START = datetime(2025, 1, 6)  # a Monday
PERIOD_DAYS = 90
DAY_S = 86_400
_EPOCH_S = int((PERIOD_START - datetime(1970, 1, 1)).total_seconds())
DEFAULT_EVENTS = 300_000
MIN_EVENTS = 1_000
EVENTS_PER_ITEM = 100  # 300k events -> 3,000 products
EVENTS_PER_USER = 60  # 300k events -> 5,000 users
USERS_PER_BOT = 1_000
BOT_EVENT_SHARE = 0.03
CHUNK_EVENTS = 500_000  # events per written row group
PLAN_BATCH = 100_000  # sessions planned per vectorised batch
FORMATS = ("parquet", "csv")

# Session behaviour.
N_CANDIDATES = 12  # popularity-weighted products considered per session
MAX_VIEWS = 9
P_MORE_VIEWS = 0.3  # views per session ~ geometric with this success probability (mean 3.3)
TOP_CONCENTRATION = 0.1  # Dirichlet concentration per top category of user tastes
SUB_CONCENTRATION = 0.6  # ... and per sub-category inside a top category
P_EXPLORE = 0.1  # session intent drawn from the whole shop instead of the user's tastes
P_REVISIT = 0.2  # session returns to the target of one of the user's earlier sessions
P_SEARCH = (0.5, 0.25)  # (new intent, revisit)
P_TARGET_CLICK = (0.65, 0.85)
P_DISTRACTOR_CLICK = 0.2
P_CART = (0.25, 0.5)
P_PURCHASE = (0.5, 0.7)
PRICE_WEIGHT = 1.5  # log-utility per unit of price z-score, times the user's price sensitivity
BRAND_WEIGHT = 3.0  # log-utility of the favourite brand, times the user's brand loyalty
NOVELTY_WEIGHT = 1.0  # log-utility of a product released in the last NOVELTY_DAYS
NOVELTY_DAYS = 21
RELEASED_IN_PERIOD = 0.25  # share of products whose first_seen lies inside the period
JOINED_IN_PERIOD = 0.25  # share of users who sign up during the period
HOUR_WEIGHTS = np.array(
    [2, 1, 1, 1, 1, 2, 3, 5, 6, 6, 6, 7, 8, 7, 6, 6, 7, 8, 10, 12, 13, 12, 8, 4], dtype=float
)
WEEKDAY_WEIGHTS = np.array([0.95, 0.92, 0.95, 1.0, 1.05, 1.15, 1.2])  # Monday first

# Event codes used inside the generator, in the order of EVENT_NAMES.
_SEARCH, _VIEW, _CLICK, _CART, _PURCHASE = range(5)
EVENT_NAMES = (SEARCH, VIEW, CLICK, ADD_TO_CART, PURCHASE)

# Seconds before an event, by event code: (median, log-sigma) of a log-normal.
_GAPS = {
    _SEARCH: (15.0, 0.6),
    _VIEW: (20.0, 0.9),
    _CLICK: (5.0, 0.5),
    _CART: (30.0, 0.7),
    _PURCHASE: (120.0, 0.6),
}
_BOT_VIEW_GAP = (2.0, 0.4)

# ---------------------------------------------------------------------------------------------
# Category tree and vocabularies
# ---------------------------------------------------------------------------------------------

SIZE_SCHEMES: dict[str, tuple[str, ...]] = {
    "none": (),
    "apparel": ("XS", "S", "M", "L", "XL", "XXL"),
    "shoe": tuple(f"EU {n}" for n in range(36, 47)),
    "pan": ("20 cm", "24 cm", "28 cm", "32 cm"),
    "knife": ("15 cm", "20 cm", "25 cm"),
    "kettle": ("1 l", "1.5 l", "1.7 l"),
    "mug": ("250 ml", "350 ml", "450 ml"),
    "dims": ("small", "medium", "large"),
    "bed": ("single", "double", "king", "super king"),
    "seats": ("2-seater", "3-seater", "corner"),
    "rug": ("80 x 150 cm", "120 x 170 cm", "160 x 230 cm", "200 x 300 cm"),
    "laptop": ("13-inch", "14-inch", "15-inch", "16-inch"),
    "monitor": ("24-inch", "27-inch", "32-inch", "34-inch"),
    "tv": ("43-inch", "50-inch", "55-inch", "65-inch", "75-inch"),
    "storage": ("64 GB", "128 GB", "256 GB", "512 GB"),
    "watt": ("20 W", "30 W", "65 W", "100 W"),
    "lens": ("24-70 mm", "35 mm", "50 mm", "85 mm"),
    "waist": ("W28", "W30", "W32", "W34", "W36"),
    "belt": ("85 cm", "95 cm", "105 cm", "115 cm"),
    "mat": ("4 mm", "6 mm", "8 mm"),
    "weight": ("2 kg", "5 kg", "10 kg", "20 kg"),
    "frame": ("50 cm", "54 cm", "56 cm", "58 cm"),
    "helmet": ("S", "M", "L"),
    "tent": ("1-person", "2-person", "3-person", "4-person"),
    "season": ("2-season", "3-season", "4-season"),
    "litres": ("20 l", "30 l", "45 l", "65 l"),
    "volume": ("30 ml", "50 ml", "100 ml", "200 ml"),
    "pieces": ("100 pieces", "250 pieces", "500 pieces", "1000 pieces"),
    "age": ("3+ years", "6+ years", "8+ years", "12+ years"),
    "trampoline": ("6 ft", "8 ft", "10 ft", "12 ft"),
    "hose": ("10 m", "15 m", "25 m", "30 m"),
    "watering": ("2 l", "5 l", "10 l"),
    "burners": ("2-burner", "3-burner", "4-burner"),
    "paper": ("A4", "A5", "A6"),
    "pack": ("pack of 3", "pack of 10", "pack of 24"),
    "drawers": ("2-drawer", "3-drawer", "4-drawer"),
    "ream": ("500 sheets", "1000 sheets", "2500 sheets"),
    "toolset": ("3-piece", "5-piece", "8-piece"),
}

PALETTES: dict[str, tuple[str, ...]] = {
    "default": (
        "black", "white", "grey", "navy", "blue", "red", "green", "beige", "brown", "cream",
        "pink", "yellow", "orange", "teal", "purple", "silver",
    ),
    "tech": ("black", "white", "silver", "space grey", "blue", "graphite", "red", "green"),
    "fashion": (
        "black", "navy", "white", "grey", "beige", "camel", "olive", "burgundy", "blue", "red",
        "pink", "cream", "brown", "green",
    ),
    "beauty": ("nude", "rose", "coral", "berry", "clear", "ivory", "pearl", "gold"),
}  # fmt: skip


@dataclass(frozen=True)
class ProductType:
    """Leaf of the category tree: a kind of product with its nouns, size scheme and price."""

    name: str  # plural, as shown in the category path
    noun: str  # as used in titles (plural for things sold in pairs or sets)
    synonyms: tuple[str, ...]  # other words shoppers type for it
    sizes: str  # key of SIZE_SCHEMES
    median_price: float
    unit: str = ""  # "pair of" / "set of" before a plural noun in running text


@dataclass(frozen=True)
class SubCategory:
    """Second level of the tree, with the attribute vocabularies its products draw from."""

    name: str
    materials: tuple[str, ...]
    features: tuple[tuple[str, str], ...]  # (feature, what it means for the buyer)
    uses: tuple[str, ...]
    types: tuple[ProductType, ...]


@dataclass(frozen=True)
class TopCategory:
    """First level of the tree."""

    name: str
    palette: str  # key of PALETTES
    price_sigma: float  # log-scale spread of prices around each type's median
    subs: tuple[SubCategory, ...]
    ingredients: bool = False  # "material" names an ingredient or a scent note


def _type(
    name: str, noun: str, synonyms: str, sizes: str, price: float, unit: str = ""
) -> ProductType:
    if not unit and noun in _PAIRS:
        unit = "pair of"
    return ProductType(name, noun, tuple(synonyms.split("|")), sizes, price, unit)


_PAIRS = {
    "over-ear headphones", "wireless earbuds", "slim jeans", "sneakers", "ankle boots", "sandals",
    "running shoes", "running shorts", "swim goggles", "secateurs",
}  # fmt: skip


def _sub(name: str, materials: str, features: str, uses: str, *types: ProductType) -> SubCategory:
    pairs = tuple(tuple(pair.split(":", 1)) for pair in features.split("|"))
    return SubCategory(name, tuple(materials.split("|")), pairs, tuple(uses.split("|")), types)


CATEGORY_TREE: tuple[TopCategory, ...] = (
    TopCategory("Home", "default", 0.35, (
        _sub("Kitchen", "stainless steel|cast iron|ceramic|aluminium|glass|bamboo",
             "non-stick:food slides off with no effort|dishwasher-safe:cleaning up takes "
             "seconds|induction-ready:it works on every kind of hob|heat-resistant:it copes "
             "with the hottest oven",
             "everyday cooking|family dinners|weekend baking|entertaining guests",
             _type("Pans", "frying pan", "pan|skillet|fry pan|saute pan", "pan", 35),
             _type("Knives", "chef's knife", "kitchen knife|knife|cooking knife", "knife", 40),
             _type("Kettles", "electric kettle", "kettle|water boiler|tea kettle", "kettle", 45),
             _type("Mugs", "coffee mug", "mug|cup|tea mug", "mug", 12)),
        _sub("Bedding", "cotton|linen|bamboo fibre|microfibre|wool|silk",
             "hypoallergenic:sensitive sleepers rest easy|machine-washable:it goes straight "
             "in the wash|breathable:you stay cool all night",
             "a good night's sleep|guest rooms|cosy winter nights",
             _type("Duvets", "duvet", "comforter|quilt|doona", "bed", 60),
             _type("Pillows", "pillow", "bed pillow|head pillow|sleep pillow", "dims", 25),
             _type("Sheets", "fitted sheet", "bed sheet|sheet|sheet set", "bed", 30),
             _type("Blankets", "throw blanket", "blanket|throw|fleece blanket", "dims", 35)),
        _sub("Furniture", "oak|pine|walnut|steel|rattan|velvet",
             "easy-assembly:it is set up in minutes|space-saving:it fits even small rooms|"
             "scratch-resistant:it keeps looking new for years",
             "small flats|home offices|family living rooms",
             _type("Chairs", "dining chair", "chair|kitchen chair|seat", "none", 85),
             _type("Desks", "writing desk", "desk|computer desk|work table", "dims", 180),
             _type("Shelves", "bookshelf", "bookcase|shelf|shelving unit", "dims", 120),
             _type("Sofas", "sofa", "couch|settee|loveseat", "seats", 650)),
        _sub("Decor", "ceramic|glass|brass|jute|wool|marble",
             "handmade:no two pieces are exactly alike|dimmable:you can set the mood|"
             "fade-resistant:the colour stays bright",
             "living rooms|hallways|bedrooms|housewarming gifts",
             _type("Lamps", "table lamp", "lamp|bedside lamp|desk light", "dims", 55),
             _type("Vases", "flower vase", "vase|bud vase|glass vase", "dims", 25),
             _type("Rugs", "area rug", "rug|carpet|runner", "rug", 110),
             _type("Mirrors", "wall mirror", "mirror|round mirror|hall mirror", "dims", 70)),
        _sub("Bath", "cotton|bamboo|microfibre|polyester|teak",
             "quick-drying:it is ready again in no time|non-slip:it stays put on wet floors|"
             "mould-resistant:it stays fresh in a steamy room",
             "everyday showers|spa days at home|family bathrooms",
             _type("Towels", "bath towel", "towel|towels|bath sheet", "dims", 18),
             _type("Bath Mats", "bath mat", "shower mat|bathroom rug|bath rug", "dims", 20),
             _type("Shower Curtains", "shower curtain", "bath curtain|shower liner|curtain",
                   "none", 22)),
    )),
    TopCategory("Electronics", "tech", 0.3, (
        _sub("Audio", "plastic|aluminium|fabric|silicone",
             "wireless:no cable gets in the way|noise-cancelling:the outside world goes "
             "quiet|waterproof:rain and splashes are no problem|fast-charging:ten minutes on "
             "the charger last for hours",
             "commuting|workouts|home listening|long flights",
             _type("Headphones", "over-ear headphones", "headphones|headset|over ear headphones",
                   "none", 120),
             _type("Earbuds", "wireless earbuds", "earbuds|earphones|in-ear headphones|buds",
                   "none", 80),
             _type("Speakers", "bluetooth speaker", "speaker|portable speaker|wireless speaker",
                   "dims", 90)),
        _sub("Computing", "aluminium|plastic|magnesium alloy",
             "backlit:you can work in the dark|ergonomic:your wrists stay relaxed|"
             "wireless:your desk stays tidy|fast-charging:it is ready to go in minutes",
             "working from home|gaming|students|small businesses",
             _type("Laptops", "laptop", "notebook computer|notebook|ultrabook", "laptop", 900),
             _type("Keyboards", "mechanical keyboard", "keyboard|gaming keyboard|wireless "
                   "keyboard", "none", 70),
             _type("Mice", "wireless mouse", "mouse|computer mouse|gaming mouse", "none", 35),
             _type("Monitors", "monitor", "computer screen|display|pc monitor", "monitor", 260)),
        _sub("Phones", "glass|aluminium|silicone|plastic",
             "fast-charging:the battery refills over a coffee|shockproof:drops are no "
             "drama|water-resistant:a rain shower does no harm",
             "busy days|travel|staying in touch",
             _type("Smartphones", "smartphone", "phone|mobile phone|cell phone", "storage", 550),
             _type("Phone Cases", "phone case", "case|phone cover|protective case", "none", 18),
             _type("Chargers", "USB-C charger", "charger|phone charger|wall charger", "watt",
                   25)),
        _sub("TV & Video", "plastic|aluminium|glass",
             "4K:every picture looks razor sharp|HDR:colours look vivid|voice-controlled:you "
             "just say what you want to watch",
             "movie nights|sports fans|gaming",
             _type("Televisions", "smart TV", "tv|television|led tv", "tv", 600),
             _type("Projectors", "projector", "home projector|video projector|mini projector",
                   "none", 350),
             _type("Streaming Devices", "streaming stick", "streaming device|media player|tv "
                   "stick", "none", 45)),
        _sub("Cameras", "aluminium|carbon fibre|magnesium alloy|plastic",
             "weather-sealed:you can keep shooting in the rain|lightweight:it hardly weighs "
             "down your bag|stabilised:handheld shots come out steady",
             "travel photography|vlogging|family events|wildlife",
             _type("Cameras", "mirrorless camera", "camera|digital camera|system camera",
                   "none", 800),
             _type("Lenses", "camera lens", "lens|zoom lens|prime lens", "lens", 450),
             _type("Tripods", "tripod", "camera stand|travel tripod|monopod", "dims", 60)),
    )),
    TopCategory("Fashion", "fashion", 0.4, (
        _sub("Women", "cotton|linen|silk|viscose|polyester|wool",
             "stretch:it moves with you|crease-resistant:it looks fresh straight from the "
             "suitcase|sustainably made:it is kinder to the planet",
             "the office|summer weekends|evenings out|holidays",
             _type("Dresses", "dress", "summer dress|midi dress|maxi dress|frock", "apparel", 55),
             _type("Blouses", "blouse", "top|shirt|tunic", "apparel", 35),
             _type("Skirts", "skirt", "midi skirt|pleated skirt|mini skirt", "apparel", 40)),
        _sub("Men", "cotton|denim|wool|polyester|linen",
             "water-repellent:showers run straight off|stretch:it moves with you|"
             "crease-resistant:it looks sharp all day",
             "the office|weekends|travel|smart occasions",
             _type("Shirts", "oxford shirt", "shirt|button-down shirt|dress shirt", "apparel",
                   40),
             _type("Jeans", "slim jeans", "jeans|denim|denim trousers", "waist", 60),
             _type("Jackets", "rain jacket", "jacket|coat|windbreaker", "apparel", 110)),
        _sub("Shoes", "leather|suede|canvas|mesh|rubber",
             "cushioned:every step feels soft|waterproof:your feet stay dry|lightweight:you "
             "barely notice them",
             "everyday wear|city walks|summer days|the office",
             _type("Sneakers", "sneakers", "trainers|sports shoes|kicks", "shoe", 75),
             _type("Boots", "ankle boots", "boots|chelsea boots|leather boots", "shoe", 110),
             _type("Sandals", "sandals", "flip flops|sliders|summer sandals", "shoe", 40)),
        _sub("Accessories", "leather|wool|cotton|cashmere|canvas",
             "handmade:each one is unique|water-repellent:it shrugs off the rain|"
             "lightweight:you can carry it all day",
             "everyday wear|gifts|travel|cold days",
             _type("Bags", "tote bag", "bag|handbag|shoulder bag", "none", 60),
             _type("Belts", "belt", "leather belt|waist belt|mens belt", "belt", 30),
             _type("Scarves", "scarf", "wool scarf|shawl|wrap", "none", 25),
             _type("Hats", "beanie", "hat|winter hat|knit cap", "none", 20)),
    )),
    TopCategory("Sports & Outdoors", "default", 0.4, (
        _sub("Fitness", "rubber|TPE|cast iron|neoprene|latex",
             "non-slip:it stays put mid-workout|adjustable:it grows with your training|"
             "portable:it packs away in seconds",
             "home workouts|the gym|yoga classes|rehab exercises",
             _type("Yoga Mats", "yoga mat", "exercise mat|fitness mat|pilates mat", "mat", 30),
             _type("Dumbbells", "dumbbell set", "dumbbells|hand weights|free weights", "weight",
                   60),
             _type("Resistance Bands", "resistance band set", "resistance bands|exercise "
                   "bands|workout bands", "none", 20)),
        _sub("Running", "mesh|polyester|nylon|silicone",
             "breathable:you stay cool over long distances|reflective:drivers see you after "
             "dark|lightweight:you barely feel it",
             "marathon training|morning runs|trail running",
             _type("Running Shoes", "running shoes", "runners|jogging shoes|trainers", "shoe",
                   100),
             _type("Running Shorts", "running shorts", "shorts|gym shorts|sports shorts",
                   "apparel", 30),
             _type("Running Watches", "GPS running watch", "running watch|sports watch|fitness "
                   "tracker", "none", 200)),
        _sub("Cycling", "aluminium|carbon fibre|steel|polycarbonate",
             "lightweight:climbs feel easier|rechargeable:a USB cable is all it needs|"
             "reflective:you are seen at night",
             "commuting|weekend rides|long tours",
             _type("Bikes", "road bike", "bike|bicycle|racing bike", "frame", 900),
             _type("Helmets", "bike helmet", "helmet|cycling helmet|bicycle helmet", "helmet",
                   60),
             _type("Bike Lights", "bike light set", "bike lights|bicycle light|front light",
                   "none", 30)),
        _sub("Camping", "nylon|polyester|ripstop nylon|down|canvas",
             "waterproof:a stormy night is no worry|lightweight:your pack stays light|"
             "packable:it squeezes into a small bag",
             "weekend camping|festivals|hiking trips|wild camping",
             _type("Tents", "tent", "camping tent|dome tent|backpacking tent", "tent", 150),
             _type("Sleeping Bags", "sleeping bag", "sleep bag|camping sleeping bag|mummy bag",
                   "season", 70),
             _type("Backpacks", "hiking backpack", "backpack|rucksack|daypack", "litres", 80)),
        _sub("Swimming", "silicone|nylon|polyester|elastane",
             "anti-fog:you see every length clearly|chlorine-resistant:it survives daily "
             "pool sessions|quick-drying:it is dry before you get home",
             "pool training|beach holidays|triathlons",
             _type("Goggles", "swim goggles", "goggles|swimming goggles|pool goggles", "none",
                   18),
             _type("Swimsuits", "swimsuit", "swimming costume|bathing suit|swimwear", "apparel",
                   35)),
    )),
    TopCategory("Beauty", "beauty", 0.45, (
        _sub("Skincare", "hyaluronic acid|vitamin C|niacinamide|aloe vera|shea butter|retinol",
             "fragrance-free:sensitive skin stays calm|vegan:no animal ingredients are used|"
             "dermatologically tested:it is gentle enough for daily use",
             "morning routines|dry skin|sensitive skin|night-time care",
             _type("Moisturisers", "face moisturiser", "moisturizer|face cream|day cream",
                   "volume", 25),
             _type("Cleansers", "facial cleanser", "face wash|cleanser|cleansing gel", "volume",
                   15),
             _type("Serums", "face serum", "serum|facial serum|anti-ageing serum", "volume",
                   30)),
        _sub("Hair Care", "argan oil|keratin|coconut oil|biotin|tea tree oil",
             "sulphate-free:colour-treated hair stays vibrant|silicone-free:hair stays light "
             "and bouncy|vegan:no animal ingredients are used",
             "curly hair|daily styling|damaged hair",
             _type("Shampoo", "shampoo", "hair shampoo|anti-dandruff shampoo|hair wash",
                   "volume", 10),
             _type("Conditioner", "conditioner", "hair conditioner|leave-in conditioner|hair "
                   "softener", "volume", 12),
             _type("Hair Oils", "hair oil", "hair serum|argan hair oil|hair treatment",
                   "volume", 18)),
        _sub("Makeup", "vitamin E|jojoba oil|beeswax|mineral pigments",
             "long-wear:it lasts from morning to night|waterproof:tears and rain cannot "
             "smudge it|cruelty-free:no animal testing is involved",
             "everyday looks|special occasions|evenings out",
             _type("Lipsticks", "lipstick", "lip colour|matte lipstick|lip stick", "none", 18),
             _type("Mascara", "mascara", "lash mascara|volumising mascara|waterproof mascara",
                   "none", 16),
             _type("Foundation", "liquid foundation", "foundation|base makeup|complexion cream",
                   "volume", 28)),
        _sub("Fragrance", "jasmine|sandalwood|citrus|vanilla|vetiver|rose",
             "long-lasting:one spray lasts all day|travel-size:it slips into any bag|"
             "vegan:no animal ingredients are used",
             "date nights|everyday wear|gifts",
             _type("Perfume", "eau de parfum", "perfume|fragrance|scent", "volume", 60),
             _type("Body Mist", "body mist", "body spray|mist|fragrance mist", "volume", 15),
             _type("Aftershave", "aftershave", "after shave|cologne|mens fragrance", "volume",
                   40)),
    ), ingredients=True),
    TopCategory("Toys & Games", "default", 0.4, (
        _sub("Building", "plastic|wood|ABS plastic|bamboo",
             "educational:children learn as they play|stackable:towers grow as high as "
             "imagination|battery-free:it never runs flat",
             "rainy afternoons|birthday presents|family play",
             _type("Building Sets", "building set", "building blocks|construction set|brick set",
                   "pieces", 45),
             _type("Marble Runs", "marble run", "marble track|ball run|marble maze", "pieces",
                   35),
             _type("Magnetic Tiles", "magnetic tiles", "magnet tiles|magnetic blocks|magna tiles",
                   "pieces", 40, "set of")),
        _sub("Board Games", "cardboard|wood|plastic",
             "award-winning:critics and families love it|quick to learn:you play within "
             "minutes|replayable:no two games are the same",
             "game nights|family evenings|parties",
             _type("Strategy Games", "strategy board game", "board game|strategy game|tabletop "
                   "game", "age", 35),
             _type("Party Games", "party game", "card game|family game|party card game", "age",
                   20),
             _type("Chess Sets", "chess set", "chess|chess board|chessboard", "dims", 40)),
        _sub("Puzzles", "cardboard|wood|plastic",
             "educational:it sharpens the mind|eco-friendly:it is made from recycled "
             "board|challenging:it keeps you busy for hours",
             "quiet evenings|puzzle fans|gifts",
             _type("Jigsaw Puzzles", "jigsaw puzzle", "puzzle|jigsaw|picture puzzle", "pieces",
                   18),
             _type("3D Puzzles", "3D puzzle", "3d jigsaw|model puzzle|puzzle model", "pieces",
                   30),
             _type("Brain Teasers", "puzzle cube", "speed cube|magic cube|brain teaser", "age",
                   12)),
        _sub("Outdoor Play", "steel|aluminium|plastic",
             "foldable:it stores flat|weatherproof:it can stay outside|adjustable:it grows "
             "with your child",
             "sunny afternoons|the park|garden parties",
             _type("Scooters", "kick scooter", "scooter|kids scooter|push scooter", "age", 60),
             _type("Trampolines", "garden trampoline", "trampoline|kids trampoline|rebounder",
                   "trampoline", 200),
             _type("Water Blasters", "water blaster", "water gun|squirt gun|water pistol",
                   "age", 15)),
        _sub("Dolls & Figures", "plastic|vinyl|plush|fabric",
             "collectible:it completes any collection|washable:it survives sticky hands|"
             "poseable:every joint moves",
             "imaginative play|collectors|bedtime cuddles",
             _type("Dolls", "fashion doll", "doll|dolls|baby doll", "age", 25),
             _type("Soft Toys", "teddy bear", "teddy|soft toy|plush toy|stuffed animal",
                   "dims", 18),
             _type("Action Figures", "action figure", "figure|toy figure|collectible figure",
                   "age", 20)),
    )),
    TopCategory("Garden", "default", 0.35, (
        _sub("Garden Tools", "carbon steel|stainless steel|ash wood|fibreglass",
             "ergonomic:your hands stay comfortable|rust-resistant:it stays sharp season "
             "after season|lightweight:long jobs feel shorter",
             "vegetable patches|spring clean-ups|allotments",
             _type("Spades", "garden spade", "spade|shovel|digging spade", "none", 30),
             _type("Pruners", "secateurs", "pruners|pruning shears|garden shears", "none", 20),
             _type("Rakes", "leaf rake", "rake|garden rake|lawn rake", "none", 18)),
        _sub("Watering", "PVC|galvanised steel|plastic|brass",
             "kink-free:water flows without a fight|adjustable:you choose the spray|"
             "frost-proof:it survives the winter",
             "dry summers|balcony plants|large lawns",
             _type("Hoses", "garden hose", "hose|hosepipe|water hose", "hose", 35),
             _type("Watering Cans", "watering can", "water can|plant watering can|sprinkling "
                   "can", "watering", 15),
             _type("Sprinklers", "lawn sprinkler", "sprinkler|garden sprinkler|water sprinkler",
                   "none", 25)),
        _sub("Outdoor Furniture", "teak|acacia|aluminium|rattan|polyester",
             "weatherproof:it can stay out all year|foldable:it stores away in winter|"
             "UV-resistant:the sun cannot fade it",
             "summer evenings|balconies|garden parties",
             _type("Garden Chairs", "garden chair", "patio chair|outdoor chair|deck chair",
                   "none", 70),
             _type("Garden Tables", "patio table", "garden table|outdoor table|bistro table",
                   "dims", 180),
             _type("Hammocks", "hammock", "garden hammock|swing bed|hanging bed", "none", 60)),
        _sub("Barbecue", "stainless steel|cast iron|enamelled steel",
             "portable:it goes wherever the party is|easy-clean:the grease tray lifts out|"
             "rust-resistant:it shrugs off the weather",
             "summer cookouts|camping trips|family gatherings",
             _type("Charcoal Grills", "charcoal grill", "bbq|barbecue|grill", "dims", 180),
             _type("Gas Grills", "gas barbecue", "gas grill|gas bbq|propane grill", "burners",
                   380),
             _type("BBQ Tools", "BBQ tool set", "grill tools|barbecue utensils|grill set",
                   "toolset", 30)),
    )),
    TopCategory("Office", "default", 0.35, (
        _sub("Stationery", "recycled paper|leather|cardboard|plastic",
             "refillable:you only ever buy refills|eco-friendly:it is made from recycled "
             "materials|smudge-proof:notes stay crisp",
             "students|journaling|meetings",
             _type("Notebooks", "notebook", "journal|notepad|exercise book", "paper", 12),
             _type("Pens", "ballpoint pen set", "pens|ballpoint pens|gel pens", "pack", 10),
             _type("Planners", "weekly planner", "planner|diary|agenda", "paper", 18)),
        _sub("Office Furniture", "steel|oak|mesh|aluminium",
             "ergonomic:long days feel shorter|height-adjustable:you can sit or stand|"
             "easy-assembly:it is set up in minutes",
             "home offices|open-plan offices|long working days",
             _type("Office Chairs", "office chair", "desk chair|ergonomic chair|computer chair",
                   "none", 220),
             _type("Standing Desks", "standing desk", "sit stand desk|height adjustable "
                   "desk|stand up desk", "dims", 450),
             _type("Filing Cabinets", "filing cabinet", "file cabinet|drawer cabinet|document "
                   "cabinet", "drawers", 150)),
        _sub("Printing", "plastic|recycled paper|steel",
             "wireless:you print straight from your phone|high-yield:it lasts for thousands "
             "of pages|eco-friendly:it saves energy and paper",
             "home offices|small businesses|school projects",
             _type("Printers", "laser printer", "printer|office printer|home printer", "none",
                   200),
             _type("Ink", "ink cartridge", "ink|printer ink|cartridge", "pack", 30),
             _type("Paper", "printer paper", "copy paper|a4 paper|paper ream", "ream", 12)),
        _sub("Storage", "cardboard|plastic|bamboo|steel",
             "stackable:it makes the most of every shelf|labelled:you find things at a "
             "glance|foldable:it stores flat when empty",
             "tidy desks|home offices|archives",
             _type("Storage Boxes", "storage box", "box|storage bin|organiser box", "dims", 15),
             _type("Desk Organisers", "desk organiser", "desk tidy|pen holder|organizer",
                   "none", 20),
             _type("Binders", "ring binder", "binder|folder|lever arch file", "pack", 8)),
    )),
)  # fmt: skip

_MODEL_STEMS = (
    "Aero", "Nova", "Terra", "Pulse", "Vista", "Luna", "Orion", "Flex", "Zephyr", "Atlas",
    "Echo", "Sierra", "Summit", "Halo", "Axis", "Vertex", "Comet", "Drift", "Ember", "Fjord",
    "Glide", "Harbor", "Ion", "Juno", "Kite", "Lumen", "Mesa", "Nimbus", "Opal", "Prism",
    "Quartz", "Ridge", "Sable", "Tide", "Vale", "Willow", "Yukon", "Zenith", "Arc", "Bloom",
)  # fmt: skip
_MODEL_SUFFIXES = ("100", "200", "300", "500", "700", "900", "Pro", "Lite", "Max", "Plus", "X", "2")
_BRAND_HEADS = (
    "Nor", "Kel", "Ver", "Alt", "Bri", "Cas", "Dun", "El", "Fen", "Gal", "Hal", "Is", "Jun",
    "Kor", "Lum", "Mar", "Nex", "Ol", "Pra", "Quin", "Ros", "Sol", "Tor", "Ul", "Vel", "Wil",
    "Xen", "Yar", "Zen", "Ber", "Cor", "Dal", "Fal", "Gor", "Lin", "Mor",
)  # fmt: skip
_BRAND_MIDDLES = ("", "", "", "a", "o", "i", "el", "ar")
_BRAND_TAILS = (
    "vik", "ta", "ora", "ex", "ano", "ly", "stone", "field", "ware", "co", "ix", "en", "berg",
    "lux", "mark", "ova", "wood", "line",
)  # fmt: skip

_ADJECTIVES = (
    "sturdy", "durable", "well-made", "practical", "versatile", "stylish", "reliable",
    "thoughtfully designed", "good-looking", "dependable",
)  # fmt: skip
_CARE_ADJECTIVES = ("gentle", "luxurious", "nourishing", "lightweight", "silky", "refreshing")
_LOOKS = ("clean", "modern", "timeless", "understated", "classic", "fresh")
_KEYBOARD_NEIGHBOURS = {
    "a": "sq", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "f": "dg", "g": "fh", "h": "gj",
    "i": "uo", "j": "hk", "k": "jl", "l": "k", "m": "n", "n": "bm", "o": "ip", "p": "o",
    "q": "w", "r": "et", "s": "ad", "t": "ry", "u": "yi", "v": "cb", "w": "qe", "x": "zc",
    "y": "tu", "z": "x",
}  # fmt: skip


def _slug(name: str) -> str:
    """Lower-case identifier for a category name, used in ground-truth column names."""
    return "_".join("".join(c if c.isalnum() else " " for c in name.lower()).split())


@dataclass(frozen=True)
class _Tree:
    """The category tree flattened into arrays indexed by product type (leaf)."""

    tops: tuple[TopCategory, ...]
    subs: tuple[SubCategory, ...]
    types: tuple[ProductType, ...]
    sub_top: np.ndarray  # top index of each sub-category
    type_sub: np.ndarray  # sub-category index of each product type
    type_top: np.ndarray
    type_path: tuple[str, ...]
    sub_path: tuple[str, ...]


def _flatten_tree() -> _Tree:
    subs, types, sub_top, type_sub, type_path, sub_path = [], [], [], [], [], []
    for t, top in enumerate(CATEGORY_TREE):
        for sub in top.subs:
            sub_top.append(t)
            sub_path.append(f"{top.name} > {sub.name}")
            for product_type in sub.types:
                type_sub.append(len(subs))
                types.append(product_type)
                type_path.append(f"{top.name} > {sub.name} > {product_type.name}")
            subs.append(sub)
    sub_top_arr = np.array(sub_top)
    type_sub_arr = np.array(type_sub)
    return _Tree(
        tops=CATEGORY_TREE,
        subs=tuple(subs),
        types=tuple(types),
        sub_top=sub_top_arr,
        type_sub=type_sub_arr,
        type_top=sub_top_arr[type_sub_arr],
        type_path=tuple(type_path),
        sub_path=tuple(sub_path),
    )


TREE = _flatten_tree()

# ---------------------------------------------------------------------------------------------
# Sizes, results and random streams
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorldSize:
    """How big a world of ``n_events`` events is."""

    n_events: int
    n_users: int  # bots included
    n_items: int
    n_bots: int
    n_days: int


@dataclass(frozen=True)
class WorldSummary:
    """What :func:`simulate_world` wrote."""

    n_events: int
    n_users: int
    n_items: int
    n_sessions: int
    n_bots: int
    n_top_categories: int
    n_subcategories: int
    n_product_types: int
    start: datetime
    end: datetime
    event_counts: dict[str, int]
    files: dict[str, Path]
    seconds: float
    random_state: int | None = None
    fmt: str = "parquet"


def world_size(n_events: int = DEFAULT_EVENTS) -> WorldSize:
    """Users, products and bots of a world with ``n_events`` events.

    Users and products grow linearly with the log (60 events per user, 100 per product), so the
    default 300,000 events give 5,000 users and 3,000 products.
    """
    if not isinstance(n_events, int | np.integer) or n_events < MIN_EVENTS:
        raise ValueError(
            f"n_events must be an integer of at least {MIN_EVENTS:,}, got {n_events!r}"
        )
    n_users = max(100, round(n_events / EVENTS_PER_USER))
    n_items = max(10 * len(TREE.types), round(n_events / EVENTS_PER_ITEM))
    n_bots = max(2, round(n_users / USERS_PER_BOT))
    return WorldSize(int(n_events), n_users, n_items, n_bots, PERIOD_DAYS)


def _streams(random_state: int | np.random.Generator | None, n: int) -> list[np.random.Generator]:
    """Independent generators for the stages, so the catalogue alone can be rebuilt cheaply."""
    if isinstance(random_state, np.random.Generator):
        return random_state.spawn(n)
    return [np.random.default_rng(s) for s in np.random.SeedSequence(random_state).spawn(n)]


def _group_ranks(counts: np.ndarray) -> np.ndarray:
    """Position of each row inside its group, for groups laid out one after another."""
    counts = np.asarray(counts, dtype=np.int64)
    starts = np.cumsum(counts) - counts
    return np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(starts, counts)


def _grouped_cumulative(group: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Cumulative weights for sampling inside groups of a group-sorted array.

    Inside group ``g`` the values run from ``g`` (exclusive) to ``g + 1`` (inclusive), so
    ``searchsorted(cw, g + u, "right")`` with ``u`` uniform in [0, 1) draws a row of group ``g``
    with probability proportional to its weight.
    """
    cumulative = np.cumsum(weight)
    totals = np.bincount(group, weights=weight)
    ends = np.cumsum(np.bincount(group)) - 1
    before = np.concatenate([[0.0], cumulative[ends][:-1]])
    inside = (cumulative - before[group]) / totals[group]
    inside[ends] = 1.0
    return group + inside


def _sample_rows(cumulative: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Row-wise categorical draws: column index for each row of a row-cumulative matrix."""
    picked = (cumulative < u[:, None]).sum(axis=1)
    return np.minimum(picked, cumulative.shape[1] - 1)


def _lognormal_gaps(rng: np.random.Generator, codes: np.ndarray) -> np.ndarray:
    """Seconds before each event, log-normal by event type, at least one second."""
    median = np.zeros(len(codes))
    sigma = np.zeros(len(codes))
    for code, (m, s) in _GAPS.items():
        hit = codes == code
        median[hit] = m
        sigma[hit] = s
    return np.maximum(1, np.rint(median * np.exp(sigma * rng.standard_normal(len(codes))))).astype(
        np.int64
    )


# ---------------------------------------------------------------------------------------------
# Catalogue
# ---------------------------------------------------------------------------------------------


@dataclass
class _Vocab:
    """Attribute vocabularies shared by catalogue text and queries."""

    colours: list[str]
    top_colours: list[np.ndarray]  # colour ids of each top category's palette
    materials: list[str]
    sub_materials: list[np.ndarray]
    features: list[str]
    sub_features: list[np.ndarray]
    sizes: list[str]
    type_sizes: list[np.ndarray]
    models: list[str]
    brands: list[str]
    top_brands: list[np.ndarray]


def _index(values: list[str], lookup: dict[str, int], new: tuple[str, ...]) -> np.ndarray:
    ids = []
    for value in new:
        if value not in lookup:
            lookup[value] = len(values)
            values.append(value)
        ids.append(lookup[value])
    return np.array(ids, dtype=np.int32)


def _brand_names(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct made-up brand names."""
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        name = (
            _BRAND_HEADS[rng.integers(len(_BRAND_HEADS))]
            + _BRAND_MIDDLES[rng.integers(len(_BRAND_MIDDLES))]
            + _BRAND_TAILS[rng.integers(len(_BRAND_TAILS))]
        )
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def _build_vocab(rng: np.random.Generator, n_items: int) -> _Vocab:
    colours: list[str] = []
    colour_ids: dict[str, int] = {}
    top_colours = [_index(colours, colour_ids, PALETTES[top.palette]) for top in TREE.tops]
    materials: list[str] = []
    material_ids: dict[str, int] = {}
    sub_materials = [_index(materials, material_ids, sub.materials) for sub in TREE.subs]
    features: list[str] = []
    feature_ids: dict[str, int] = {}
    sub_features = [
        _index(features, feature_ids, tuple(f for f, _ in sub.features)) for sub in TREE.subs
    ]
    sizes: list[str] = []
    size_ids: dict[str, int] = {}
    type_sizes = [_index(sizes, size_ids, SIZE_SCHEMES[t.sizes]) for t in TREE.types]
    models = [f"{stem} {suffix}" for stem in _MODEL_STEMS for suffix in _MODEL_SUFFIXES]
    per_top = int(np.clip(n_items / len(TREE.tops) / 25, 8, 80))
    brands = _brand_names(rng, per_top * len(TREE.tops))
    top_brands = [np.arange(t * per_top, (t + 1) * per_top) for t in range(len(TREE.tops))]
    return _Vocab(
        colours=colours,
        top_colours=top_colours,
        materials=materials,
        sub_materials=sub_materials,
        features=features,
        sub_features=sub_features,
        sizes=sizes,
        type_sizes=type_sizes,
        models=models,
        brands=brands,
        top_brands=top_brands,
    )


@dataclass
class _Catalog:
    """Products as arrays, sorted by product type; ``code`` orders the external ids."""

    vocab: _Vocab
    type_idx: np.ndarray
    brand: np.ndarray
    colour: np.ndarray
    material: np.ndarray
    feature: np.ndarray
    size: np.ndarray  # -1 where the product type has no sizes
    model: np.ndarray
    price: np.ndarray
    first_seen: np.ndarray  # seconds from the period start; negative before it
    popularity: np.ndarray
    price_z: np.ndarray  # z-score of log price inside the product type
    cumulative: np.ndarray  # _grouped_cumulative of popularity by product type
    anchor: np.ndarray  # per product type: its most popular product, released before the period
    brand_popularity: np.ndarray
    item_ids: pa.Array
    table: pa.Table | None = None

    @property
    def n_items(self) -> int:
        return len(self.type_idx)


def _zipf(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Weights ``rank ** -exponent`` over a random ranking of ``n`` things."""
    return (rng.permutation(n) + 1.0) ** -exponent


def _draw_within(rng: np.random.Generator, options: list[np.ndarray], group: np.ndarray):
    """For each row, a uniform pick from ``options[group[row]]``."""
    counts = np.array([len(o) for o in options])
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    flat = np.concatenate([o for o in options if len(o)] or [np.zeros(0, dtype=np.int32)])
    pick = np.floor(rng.random(len(group)) * np.maximum(counts[group], 1)).astype(np.int64)
    out = np.full(len(group), -1, dtype=np.int32)
    has = counts[group] > 0
    out[has] = flat[offsets[group[has]] + pick[has]]
    return out


def _round_price(raw: np.ndarray) -> np.ndarray:
    """Shop prices: x.99 from 20 up, x.x9 below, never under 0.99."""
    high = np.rint(raw) - 0.01
    low = np.rint(raw * 10) / 10 - 0.01
    return np.maximum(np.round(np.where(raw >= 20, high, low), 2), 0.99)


def _assign_types(rng: np.random.Generator, n_items: int) -> np.ndarray:
    """Product type of each product, sorted: one each, the rest by a random type weight."""
    n_types = len(TREE.types)
    weight = np.sqrt(rng.lognormal(0.0, 0.6, n_types))
    extra = rng.choice(n_types, n_items - n_types, p=weight / weight.sum())
    return np.sort(np.concatenate([np.arange(n_types), extra]))


def _assign_brands_and_colours(
    rng: np.random.Generator, vocab: _Vocab, top: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Brand (Zipf-popular within the top category) and colour of each product."""
    brand_popularity = np.concatenate([_zipf(rng, len(b), 0.8) for b in vocab.top_brands])
    brand = np.empty(len(top), dtype=np.int32)
    colour = np.empty(len(top), dtype=np.int32)
    for t, brands in enumerate(vocab.top_brands):
        rows = np.flatnonzero(top == t)
        p = brand_popularity[brands] / brand_popularity[brands].sum()
        brand[rows] = rng.choice(brands, len(rows), p=p)
        palette = vocab.top_colours[t]
        weights = (np.arange(len(palette)) + 1.0) ** -0.7
        colour[rows] = rng.choice(palette, len(rows), p=weights / weights.sum())
    return brand, colour, brand_popularity


def _prices(
    rng: np.random.Generator, vocab: _Vocab, type_idx: np.ndarray, brand: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Log-normal prices around each type's median, and their z-score within the type.

    ``price = median(type) * tier(brand) * exp(sigma(top) * N(0, 1))``, rounded as shops do.
    """
    brand_tier = rng.lognormal(0.0, 0.3, len(vocab.brands))
    sigma = np.array([t.price_sigma for t in TREE.tops])[TREE.type_top[type_idx]]
    median = np.array([t.median_price for t in TREE.types])[type_idx]
    raw = median * brand_tier[brand] * np.exp(sigma * rng.standard_normal(len(type_idx)))
    price = _round_price(raw)
    log_price = np.log(price)
    counts = np.bincount(type_idx, minlength=len(TREE.types))
    mean = np.bincount(type_idx, weights=log_price) / counts
    var = np.bincount(type_idx, weights=(log_price - mean[type_idx]) ** 2) / counts
    return price, (log_price - mean[type_idx]) / np.sqrt(np.maximum(var, 1e-6))[type_idx]


def _release_dates(rng: np.random.Generator, n_items: int) -> np.ndarray:
    """``first_seen`` in seconds from the period start: a quarter inside the period."""
    released = rng.random(n_items) < RELEASED_IN_PERIOD
    first_seen = np.where(
        released,
        rng.integers(0, PERIOD_DAYS * DAY_S, n_items),
        -rng.integers(DAY_S, 730 * DAY_S, n_items),
    ).astype(np.int64)
    return first_seen - first_seen % 60


def _make_catalog(rng: np.random.Generator, n_items: int) -> _Catalog:
    """Products with attributes, prices, popularity, release dates, ids and text."""
    vocab = _build_vocab(rng, n_items)
    type_idx = _assign_types(rng, n_items)
    sub = TREE.type_sub[type_idx]
    brand, colour, brand_popularity = _assign_brands_and_colours(
        rng, vocab, TREE.type_top[type_idx]
    )
    material = _draw_within(rng, vocab.sub_materials, sub)
    feature = _draw_within(rng, vocab.sub_features, sub)
    size = _draw_within(rng, vocab.type_sizes, type_idx)
    model = rng.integers(0, len(vocab.models), n_items).astype(np.int32)
    price, price_z = _prices(rng, vocab, type_idx, brand)

    # Zipf popularity within each product type, lifted by the brand's popularity.
    popularity = np.ones(n_items)
    starts = np.searchsorted(type_idx, np.arange(len(TREE.types)))
    ends = np.r_[starts[1:], n_items]
    for start, end in zip(starts, ends, strict=True):
        popularity[start:end] = _zipf(rng, end - start, 1.0)
    popularity *= np.sqrt(brand_popularity[brand])

    first_seen = _release_dates(rng, n_items)
    anchor = np.array(
        [s + int(np.argmax(popularity[s:e])) for s, e in zip(starts, ends, strict=True)]
    )
    first_seen[anchor] = np.minimum(first_seen[anchor], -DAY_S)

    # External ids follow release order, as in a real shop's product numbering.
    code = np.empty(n_items, dtype=np.int64)
    code[np.lexsort((rng.random(n_items), first_seen))] = np.arange(n_items)
    catalog = _Catalog(
        vocab=vocab,
        type_idx=type_idx,
        brand=brand,
        colour=colour,
        material=material,
        feature=feature,
        size=size,
        model=model,
        price=price,
        first_seen=first_seen,
        popularity=popularity,
        price_z=price_z,
        cumulative=_grouped_cumulative(type_idx, popularity),
        anchor=anchor,
        brand_popularity=brand_popularity,
        item_ids=_prefixed_ids("P", code + 1, max(5, len(str(n_items)))),
    )
    catalog.table = _catalog_table(rng, catalog, code)
    return catalog


def _prefixed_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Vectorised ``f"{prefix}{n:0{width}d}"``."""
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, type=pa.int64()), pa.string()), width, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _words(text: str) -> str:
    """Capitalise the first letter of every word, leaving the rest as written (USB-C, TV)."""
    return " ".join(w[:1].upper() + w[1:] for w in text.split(" "))


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


@dataclass(frozen=True)
class _ProductWords:
    """The words a title and description are made of."""

    brand: str
    model: str
    noun: str
    unit: str
    colour: str
    material: str
    feature: str
    benefit: str
    size: str | None
    use: str
    ingredient: bool

    @property
    def counted(self) -> str:
        """The noun as one thing: "frying pan", "pair of sneakers"."""
        return f"{self.unit} {self.noun}" if self.unit else self.noun


def _title(pick: np.ndarray, w: _ProductWords) -> str:
    """One of several title layouts; attribute words are capitalised as shop titles are."""
    noun, colour, material, feature = (_words(x) for x in (w.noun, w.colour, w.material, w.feature))
    sized = f", {w.size}" if w.size else ""
    layouts = (
        f"{w.brand} {w.model} {feature} {noun}{sized}, {colour}",
        f"{w.brand} {material} {noun} {w.model} ({colour})",
        f"{w.brand} {w.model} {noun} - {colour}{sized}",
        f"{w.brand} {noun} {w.model}, {material}, {colour}",
        f"{feature} {material} {noun} by {w.brand}, {colour}{sized}",
    )
    return layouts[pick[0] % len(layouts)]


def _description(pick: np.ndarray, w: _ProductWords) -> str:
    """Two to four sentences about a product, in varied wording.

    ``pick`` holds random integers: which opener, which further sentences, in which order, and
    which wording of each.
    """
    adjectives = _CARE_ADJECTIVES if w.ingredient else _ADJECTIVES
    adjective = adjectives[pick[1] % len(adjectives)]
    a_adjective = f"{_article(adjective)} {adjective}"
    look = _LOOKS[pick[2] % len(_LOOKS)]
    made = "with" if w.ingredient else "from"
    openers = (
        (f"The {w.brand} {w.model} is {a_adjective} {w.counted} in {w.colour}.", "colour"),
        (f"This {w.colour} {w.counted} from {w.brand} is made {made} {w.material}.", "material"),
        (f"Meet the {w.model} by {w.brand}: {a_adjective} {w.counted} for {w.use}.", "use"),
        (f"If you are looking for {a_adjective} {w.counted}, the {w.brand} {w.model} has you "
         "covered.", ""),
        (f"{w.brand} built the {w.model} {w.noun} to be {w.feature} and easy to live with.",
         "feature"),
    )  # fmt: skip
    opener, covered = openers[pick[3] % len(openers)]
    options = {
        "material": (
            (
                f"Its formula is built around {w.material}.",
                f"Enriched with {w.material} for a {look} finish.",
                f"{w.material} is the star ingredient.",
            )
            if w.ingredient
            else (
                f"It is crafted from {w.material}, so it lasts for years.",
                f"Made of {w.material}, it looks {look} and feels solid.",
                f"The {w.material} construction keeps it {adjective} over time.",
            )
        ),
        "feature": (
            f"It is {w.feature}, so {w.benefit}.",
            f"Because it is {w.feature}, {w.benefit}.",
            f"Thanks to the {w.feature} design, {w.benefit}.",
        ),
        "use": (
            f"Ideal for {w.use}.",
            f"A great choice for {w.use}.",
            f"It is well suited to {w.use}.",
        ),
        "colour": (
            f"The {w.colour} finish goes with almost anything.",
            f"Its {w.colour} colour is easy to match.",
        ),
        "size": (
            (f"This one comes in {w.size}.", f"Available here in {w.size}.", f"Size: {w.size}.")
            if w.size
            else ()
        ),
        "closer": (
            f"Backed by a {2 + pick[4] % 4}-year warranty.",
            "Easy to look after and built to last.",
            "It also makes a thoughtful gift.",
            "Customers love it for its value for money.",
        ),
    }
    topics = [t for t in ("material", "feature", "use", "colour", "size") if t != covered]
    topics = [t for t in topics if options[t]]
    turn = pick[5] % len(topics)
    order = topics[turn:] + topics[:turn]
    if pick[6] % 2:
        order.reverse()
    n_more = 1 + pick[8] % 3  # 1-3 further sentences: 2-4 in all
    chosen = order[: n_more - 1] + (["closer"] if pick[9] % 2 else order[n_more - 1 : n_more])
    sentences = [opener]
    for k, topic in enumerate(chosen):
        wordings = options[topic]
        sentences.append(wordings[pick[10 + k] % len(wordings)])
    return " ".join(s[0].upper() + s[1:] for s in sentences)


def _catalog_table(rng: np.random.Generator, catalog: _Catalog, code: np.ndarray) -> pa.Table:
    """Titles, descriptions and the catalogue table, sorted by item id."""
    vocab = catalog.vocab
    picks = rng.integers(0, 1 << 30, size=(catalog.n_items, 14))
    titles, descriptions = [], []
    for i in range(catalog.n_items):
        product_type = TREE.types[catalog.type_idx[i]]
        sub = TREE.subs[TREE.type_sub[catalog.type_idx[i]]]
        feature = vocab.features[catalog.feature[i]]
        words = _ProductWords(
            brand=vocab.brands[catalog.brand[i]],
            model=vocab.models[catalog.model[i]],
            noun=product_type.noun,
            unit=product_type.unit,
            colour=vocab.colours[catalog.colour[i]],
            material=vocab.materials[catalog.material[i]],
            feature=feature,
            benefit=dict(sub.features)[feature],
            size=vocab.sizes[catalog.size[i]] if catalog.size[i] >= 0 else None,
            use=sub.uses[picks[i, 13] % len(sub.uses)],
            ingredient=TREE.tops[TREE.type_top[catalog.type_idx[i]]].ingredients,
        )
        titles.append(_title(picks[i], words))
        descriptions.append(_description(picks[i], words))
    size_names = pa.array([*vocab.sizes, None], type=pa.string())
    size_idx = np.where(catalog.size >= 0, catalog.size, len(vocab.sizes))
    table = pa.table(
        {
            ITEM_ID: catalog.item_ids,
            TITLE: pa.array(titles, type=pa.string()),
            DESCRIPTION: pa.array(descriptions, type=pa.string()),
            CATEGORY: pa.array(TREE.type_path).take(pa.array(catalog.type_idx)),
            BRAND: pa.array(vocab.brands).take(pa.array(catalog.brand)),
            PRICE: pa.array(catalog.price, type=pa.float64()),
            FIRST_SEEN: _timestamps(catalog.first_seen),
            "colour": pa.array(vocab.colours).take(pa.array(catalog.colour)),
            "material": pa.array(vocab.materials).take(pa.array(catalog.material)),
            "size": size_names.take(pa.array(size_idx)),
            "feature": pa.array(vocab.features).take(pa.array(catalog.feature)),
        }
    )
    return table.take(pa.array(np.argsort(code)))


def _timestamps(seconds: np.ndarray) -> pa.Array:
    """Seconds from the period start as a second-resolution timestamp array."""
    return pa.array(np.asarray(seconds, dtype=np.int64) + _EPOCH_S, type=pa.int64()).cast(
        pa.timestamp("s")
    )


def build_catalog(n_items: int | None = None, *, random_state: int = 7) -> pa.Table:
    """The catalogue of the world :func:`simulate_world` builds with the same seed.

    Parameters
    ----------
    n_items : int, optional
        Number of products; defaults to the size of the default 300,000-event world.
    random_state : int
        Seed; equal seeds and sizes give the same catalogue as the full simulation.

    Returns
    -------
    pyarrow.Table
        The catalogue columns (``item_id, title, description, category, brand, price,
        first_seen``) and the attributes ``colour, material, size, feature``, sorted by id.
    """
    n_items = world_size().n_items if n_items is None else n_items
    if n_items < len(TREE.types):
        raise ValueError(f"n_items must be at least {len(TREE.types)} (one per product type)")
    return _make_catalog(_streams(random_state, 4)[0], n_items).table


# ---------------------------------------------------------------------------------------------
# Users
# ---------------------------------------------------------------------------------------------


@dataclass
class _Users:
    """Human users first (indices below ``n_humans``), then the bots."""

    n_humans: int
    user_ids: pa.Array  # by internal index
    activity: np.ndarray
    joined: np.ndarray  # seconds from the period start (0 for users there from the start)
    price_sensitivity: np.ndarray
    brand_loyalty: np.ndarray
    sub_affinity: np.ndarray  # humans x sub-categories, rows sum to 1
    sub_cumulative: np.ndarray  # float32 row-cumulative of sub_affinity
    favourite_brand: np.ndarray  # humans x top categories, brand ids

    @property
    def n_users(self) -> int:
        return len(self.user_ids)


def _sub_membership() -> np.ndarray:
    """Sub-categories x top categories, 1 where the sub-category belongs to the top one."""
    return (TREE.sub_top[:, None] == np.arange(len(TREE.tops))[None, :]).astype(float)


def _make_users(
    rng: np.random.Generator, size: WorldSize, catalog: _Catalog
) -> tuple[_Users, np.ndarray]:
    """Users with their tastes, and the shop-wide popularity of each sub-category."""
    n_humans = size.n_users - size.n_bots
    n_subs = len(TREE.subs)
    sub_popularity = rng.dirichlet(np.full(n_subs, 2.0))
    top_popularity = np.bincount(TREE.sub_top, weights=sub_popularity)
    # Sparse, nested tastes: a Dirichlet over top categories with a concentration of 0.1 each
    # puts most of a user's interest on one or two of them, then a flatter one inside each.
    top_affinity = rng.dirichlet(TOP_CONCENTRATION * len(TREE.tops) * top_popularity, n_humans)
    alpha = np.broadcast_to(SUB_CONCENTRATION * n_subs * sub_popularity, (n_humans, n_subs))
    within = rng.gamma(alpha)
    within /= (within @ _sub_membership())[:, TREE.sub_top]
    affinity = top_affinity[:, TREE.sub_top] * within
    favourite_brand = np.empty((n_humans, len(TREE.tops)), dtype=np.int32)
    for t, brands in enumerate(catalog.vocab.top_brands):
        p = catalog.brand_popularity[brands] / catalog.brand_popularity[brands].sum()
        favourite_brand[:, t] = rng.choice(brands, n_humans, p=p)
    joined = np.where(
        rng.random(n_humans) < JOINED_IN_PERIOD,
        rng.integers(0, (PERIOD_DAYS - 7) * DAY_S, n_humans),
        0,
    )
    code = rng.permutation(size.n_users) + 1
    return _Users(
        n_humans=n_humans,
        user_ids=_prefixed_ids("U", code, max(6, len(str(size.n_users)))),
        activity=rng.lognormal(0.0, 1.1, n_humans),
        joined=joined.astype(np.int64),
        price_sensitivity=rng.beta(2.0, 2.0, n_humans),
        brand_loyalty=rng.beta(1.2, 2.5, n_humans),
        sub_affinity=affinity,
        sub_cumulative=np.cumsum(affinity, axis=1).astype(np.float32),
        favourite_brand=favourite_brand,
    ), sub_popularity


# ---------------------------------------------------------------------------------------------
# Session planning
# ---------------------------------------------------------------------------------------------

_PLAN_FIELDS = (
    "user", "start", "target", "target_pos", "n_views", "distractors", "n_searches",
    "target_click", "n_other_clicks", "cart", "purchase", "revisit", "explore", "is_bot",
)  # fmt: skip


@dataclass
class _Plan:
    """Sessions as parallel arrays; bots have target -1 and clicks in ``n_other_clicks``."""

    arrays: dict[str, np.ndarray]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    def __len__(self) -> int:
        return len(self.arrays["user"])

    @property
    def lengths(self) -> np.ndarray:
        a = self.arrays
        return (
            a["n_searches"] + a["n_views"] + a["target_click"] + a["n_other_clicks"] + a["cart"]
            + a["purchase"]
        ).astype(np.int64)  # fmt: skip

    def take(self, rows: np.ndarray) -> _Plan:
        return _Plan({k: v[rows] for k, v in self.arrays.items()})

    @staticmethod
    def concat(plans: list[_Plan]) -> _Plan:
        return _Plan({k: np.concatenate([p.arrays[k] for p in plans]) for k in _PLAN_FIELDS})


def _session_starts(rng: np.random.Generator, earliest: np.ndarray) -> np.ndarray:
    """Start times between each user's sign-up and the period end, with day and week rhythm."""
    n = len(earliest)
    period_s = PERIOD_DAYS * DAY_S
    day = np.zeros(n, dtype=np.int64)
    todo = np.arange(n)
    weekday_accept = WEEKDAY_WEIGHTS / WEEKDAY_WEIGHTS.max()
    while len(todo):
        lo = earliest[todo]
        t = lo + np.floor(rng.random(len(todo)) * (period_s - lo)).astype(np.int64)
        d = t // DAY_S
        ok = rng.random(len(todo)) < weekday_accept[d % 7]
        day[todo[ok]] = d[ok]
        todo = todo[~ok]
    hour = rng.choice(24, n, p=HOUR_WEIGHTS / HOUR_WEIGHTS.sum())
    start = day * DAY_S + hour * 3600 + rng.integers(0, 3600, n)
    return np.clip(start, earliest, period_s - 1)


def _plan_humans(
    rng: np.random.Generator,
    users_idx: np.ndarray,
    users: _Users,
    catalog: _Catalog,
    sub_popularity: np.ndarray,
    type_cumulative: np.ndarray,
) -> _Plan:
    """Intent, target, candidates and funnel counts for one batch of human sessions."""
    n = len(users_idx)
    start = _session_starts(rng, users.joined[users_idx])
    explore = rng.random(n) < P_EXPLORE
    own = _sample_rows(users.sub_cumulative[users_idx], rng.random(n).astype(np.float32))
    shop = rng.choice(len(TREE.subs), n, p=sub_popularity)
    sub = np.where(explore, shop, own)
    product_type = np.searchsorted(type_cumulative, sub + rng.random(n), side="right")

    candidates = np.searchsorted(
        catalog.cumulative, product_type[:, None] + rng.random((n, N_CANDIDATES)), side="right"
    )
    candidates.sort(axis=1)
    usable = catalog.first_seen[candidates] <= start[:, None]
    usable[:, 1:] &= candidates[:, 1:] != candidates[:, :-1]
    age = start[:, None] - catalog.first_seen[candidates]
    favourite = users.favourite_brand[users_idx, TREE.type_top[product_type]]
    score = (
        -users.price_sensitivity[users_idx, None] * PRICE_WEIGHT * catalog.price_z[candidates]
        + users.brand_loyalty[users_idx, None] * BRAND_WEIGHT
        * (catalog.brand[candidates] == favourite[:, None])
        + NOVELTY_WEIGHT * (age < NOVELTY_DAYS * DAY_S)
        + rng.gumbel(size=(n, N_CANDIDATES))
    )  # fmt: skip
    score[~usable] = -np.inf
    best = np.argmax(score, axis=1)
    rows = np.arange(n)
    has_target = usable[rows, best]
    target = np.where(has_target, candidates[rows, best], catalog.anchor[product_type])

    # Other products seen in the session: usable candidates besides the target, in random order.
    order_key = rng.random((n, N_CANDIDATES))
    order_key[~usable] = np.inf
    order_key[rows, best] = np.inf
    order = np.argsort(order_key, axis=1)[:, : MAX_VIEWS - 1]
    distractors = np.take_along_axis(candidates, order, axis=1).astype(np.int32)
    n_others = np.isfinite(np.take_along_axis(order_key, order, axis=1)).sum(axis=1)
    n_views = np.minimum(rng.geometric(P_MORE_VIEWS, n), 1 + n_others)
    distractors[np.arange(MAX_VIEWS - 1)[None, :] >= (n_views - 1)[:, None]] = -1

    revisit = rng.random(n) < P_REVISIT
    k = revisit.astype(int)
    searched = rng.random(n) < np.take(P_SEARCH, k)
    more = rng.random(n)
    n_searches = searched * (1 + (more < 0.3) + (more < 0.08))
    target_click = rng.random(n) < np.take(P_TARGET_CLICK, k)
    cart = target_click & (rng.random(n) < np.take(P_CART, k))
    return _Plan(
        {
            "user": users_idx.astype(np.int32),
            "start": start.astype(np.int64),
            "target": target.astype(np.int32),
            "target_pos": np.floor(rng.random(n) * n_views).astype(np.int16),
            "n_views": n_views.astype(np.int16),
            "distractors": distractors,
            "n_searches": n_searches.astype(np.int16),
            "target_click": target_click.astype(np.int16),
            "n_other_clicks": rng.binomial(n_views - 1, P_DISTRACTOR_CLICK).astype(np.int16),
            "cart": cart.astype(np.int16),
            "purchase": (cart & (rng.random(n) < np.take(P_PURCHASE, k))).astype(np.int16),
            "revisit": revisit,
            "explore": explore,
            "is_bot": np.zeros(n, dtype=bool),
        }
    )


def _plan_bots(rng: np.random.Generator, users: _Users, budget: int) -> _Plan:
    """Bursts of long, fast crawling sessions: each bot is active for one to four days."""
    n_bots = users.n_users - users.n_humans
    share = rng.dirichlet(np.full(n_bots, 3.0))
    parts = []
    for b in range(n_bots):
        views = []
        total = 0
        goal = max(50, int(budget * share[b]))
        while total < goal:
            v = min(int(rng.integers(40, 250)), goal)
            views.append(v)
            total += v + v // 10
        views = np.array(views)
        n = len(views)
        first = int(rng.integers(0, (PERIOD_DAYS - 5) * DAY_S))
        span = int(rng.integers(1, 5)) * DAY_S
        parts.append(
            _Plan(
                {
                    "user": np.full(n, users.n_humans + b, dtype=np.int32),
                    "start": np.sort(first + rng.integers(0, span, n)).astype(np.int64),
                    "target": np.full(n, -1, dtype=np.int32),
                    "target_pos": np.zeros(n, dtype=np.int16),
                    "n_views": views.astype(np.int16),
                    "distractors": np.full((n, MAX_VIEWS - 1), -1, dtype=np.int32),
                    "n_searches": np.zeros(n, dtype=np.int16),
                    "target_click": np.zeros(n, dtype=np.int16),
                    "n_other_clicks": (views // 10).astype(np.int16),
                    "cart": np.zeros(n, dtype=np.int16),
                    "purchase": np.zeros(n, dtype=np.int16),
                    "revisit": np.zeros(n, dtype=bool),
                    "explore": np.zeros(n, dtype=bool),
                    "is_bot": np.ones(n, dtype=bool),
                }
            )
        )
    return _Plan.concat(parts)


def _plan_world(
    rng: np.random.Generator,
    size: WorldSize,
    users: _Users,
    catalog: _Catalog,
    sub_popularity: np.ndarray,
) -> tuple[_Plan, np.ndarray]:
    """All sessions, sorted by start, with each session's event count (exactly n_events in all).

    Human sessions are planned in batches until they exceed what is needed, then a random subset
    is kept (every user's guaranteed first session before the rest) and the last kept session is
    cut short so the events add up exactly.
    """
    bots = _plan_bots(rng, users, round(BOT_EVENT_SHARE * size.n_events))
    needed = size.n_events - int(bots.lengths.sum())
    window = PERIOD_DAYS * DAY_S - users.joined
    weight = users.activity * window / window.max()
    weight /= weight.sum()
    type_cumulative = _grouped_cumulative(TREE.type_sub, rng.lognormal(0.0, 0.5, len(TREE.types)))
    # One session for every user first, then sessions drawn by activity until there are enough.
    pending = np.array_split(np.arange(users.n_humans), -(-users.n_humans // PLAN_BATCH))
    goal = 1.03 * needed + 100
    batches, planned, mean_length = [], 0, 5.5
    while pending or planned < goal:
        if pending:
            idx = pending.pop(0)
        else:
            n = int(np.clip((goal - planned) / mean_length, 1_000, PLAN_BATCH))
            idx = rng.choice(users.n_humans, n, p=weight)
        batch = _plan_humans(rng, idx, users, catalog, sub_popularity, type_cumulative)
        batches.append(batch)
        planned += int(batch.lengths.sum())
        mean_length = planned / sum(len(b) for b in batches)
    humans = _Plan.concat(batches)
    del batches
    first = np.arange(len(humans)) < users.n_humans
    order = np.concatenate(
        [rng.permutation(np.flatnonzero(first)), rng.permutation(np.flatnonzero(~first))]
    )
    lengths = humans.lengths[order]
    cumulative = np.cumsum(lengths)
    last = int(np.searchsorted(cumulative, needed))
    kept = order[: last + 1]
    caps = lengths[: last + 1].copy()
    caps[-1] -= cumulative[last] - needed
    humans = humans.take(kept)
    _resolve_revisits(humans)

    sessions = _Plan.concat([humans, bots])
    del humans
    caps = np.concatenate([caps, bots.lengths])
    by_start = np.lexsort((sessions["user"], sessions["start"]))
    return sessions.take(by_start), caps[by_start]


def _resolve_revisits(plan: _Plan) -> None:
    """Point each revisit session at the target of the user's latest earlier new-intent session."""
    order = np.lexsort((plan["start"], plan["user"]))
    user = plan["user"][order]
    revisit = plan["revisit"][order]
    position = np.arange(len(order))
    source = np.maximum.accumulate(np.where(~revisit, position, -1))
    group_start = np.flatnonzero(np.r_[True, user[1:] != user[:-1]])
    first_of_user = np.repeat(group_start, np.diff(np.r_[group_start, len(order)]))
    valid = revisit & (source >= first_of_user)
    plan["target"][order[valid]] = plan["target"][order[source[valid]]]
    plan["revisit"][order[revisit & ~valid]] = False


# ---------------------------------------------------------------------------------------------
# Event expansion
# ---------------------------------------------------------------------------------------------


def _human_atoms(plan: _Plan, rows: np.ndarray) -> dict[str, np.ndarray]:
    """Events of human sessions ``rows`` with an order key inside each session."""
    n = len(rows)
    local = np.arange(n)
    n_views = plan["n_views"][rows].astype(np.int64)
    target = plan["target"][rows]
    target_pos = plan["target_pos"][rows].astype(np.int64)
    distractors = plan["distractors"][rows]

    n_searches = plan["n_searches"][rows].astype(np.int64)
    search_session = np.repeat(local, n_searches)
    searches = {
        "session": search_session,
        "key": _group_ranks(n_searches),
        "code": np.full(len(search_session), _SEARCH),
        "item": np.full(len(search_session), -1),
        "query_item": target[search_session],
    }

    slot = np.arange(MAX_VIEWS)[None, :]
    other = np.clip(slot - (slot > target_pos[:, None]), 0, MAX_VIEWS - 2)
    is_target = slot == target_pos[:, None]
    view_item = np.where(is_target, target[:, None], np.take_along_axis(distractors, other, 1))
    shown = slot < n_views[:, None]
    clicked = np.where(
        is_target,
        plan["target_click"][rows][:, None] > 0,
        other < plan["n_other_clicks"][rows][:, None],
    )
    view_session, view_slot = np.nonzero(shown)
    click_session, click_slot = np.nonzero(shown & clicked)
    views = _atoms(view_session, 100 + 4 * view_slot, _VIEW, view_item[view_session, view_slot])
    clicks = _atoms(
        click_session, 101 + 4 * click_slot, _CLICK, view_item[click_session, click_slot]
    )
    cart_session = np.flatnonzero(plan["cart"][rows])
    carts = _atoms(cart_session, 102 + 4 * target_pos[cart_session], _CART, target[cart_session])
    buy_session = np.flatnonzero(plan["purchase"][rows])
    buys = _atoms(buy_session, np.full(len(buy_session), 999), _PURCHASE, target[buy_session])
    return _concat_atoms([searches, views, clicks, carts, buys])


def _atoms(session, key, code, item) -> dict[str, np.ndarray]:
    return {
        "session": session,
        "key": np.asarray(key, dtype=np.int64),
        "code": np.full(len(session), code),
        "item": np.asarray(item),
        "query_item": np.full(len(session), -1),
    }


def _concat_atoms(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _bot_atoms(
    rng: np.random.Generator, plan: _Plan, rows: np.ndarray, crawlable: np.ndarray
) -> dict[str, np.ndarray]:
    """Bot sessions: views of random products (those on sale from the start), some clicked."""
    n_views = plan["n_views"][rows].astype(np.int64)
    session = np.repeat(np.arange(len(rows)), n_views)
    slot = _group_ranks(n_views)
    item = crawlable[rng.integers(0, len(crawlable), len(session))]
    views = _atoms(session, 4 * slot, _VIEW, item)
    clicked = slot % 10 == 9  # n_other_clicks = n_views // 10
    clicks = _atoms(session[clicked], 4 * slot[clicked] + 1, _CLICK, item[clicked])
    return _concat_atoms([views, clicks])


def _expand(
    rng: np.random.Generator,
    plan: _Plan,
    caps: np.ndarray,
    rows: np.ndarray,
    catalog: _Catalog,
    crawlable: np.ndarray,
) -> dict[str, np.ndarray]:
    """Events of sessions ``rows`` (in plan order) with timestamps, cut to each session's cap."""
    bot = plan["is_bot"][rows]
    human_rows, bot_rows = rows[~bot], rows[bot]
    parts = []
    for sub_rows, atoms in (
        (human_rows, _human_atoms(plan, human_rows)),
        (bot_rows, _bot_atoms(rng, plan, bot_rows, crawlable)),
    ):
        atoms["session"] = sub_rows[atoms["session"]]
        parts.append(atoms)
    events = _concat_atoms(parts)
    order = np.lexsort((events["key"], events["session"]))
    events = {k: v[order] for k, v in events.items()}
    session = events["session"]
    counts = np.bincount(np.searchsorted(rows, session), minlength=len(rows))
    rank = _group_ranks(counts)
    keep = rank < caps[session]
    events = {k: v[keep] for k, v in events.items()}
    session, rank = events["session"], rank[keep]

    gaps = _lognormal_gaps(rng, events["code"])
    is_bot = plan["is_bot"][session]
    bot_gaps = np.rint(
        _BOT_VIEW_GAP[0] * np.exp(_BOT_VIEW_GAP[1] * rng.standard_normal(int(is_bot.sum())))
    )
    gaps[is_bot] = np.maximum(1, bot_gaps).astype(np.int64)
    gaps[rank == 0] = 0
    elapsed = np.cumsum(gaps)
    first = np.flatnonzero(rank == 0)
    elapsed -= np.repeat(elapsed[first], np.diff(np.r_[first, len(session)]))
    events["ts"] = plan["start"][session] + elapsed
    events["user"] = plan["user"][session]
    value_item = np.where(events["code"] >= _CART, events["item"], -1)
    events["value"] = np.where(value_item >= 0, catalog.price[np.maximum(value_item, 0)], np.nan)
    return events


def _event_stream(
    rng: np.random.Generator,
    plan: _Plan,
    caps: np.ndarray,
    catalog: _Catalog,
    n_chunks: int,
) -> Iterator[dict[str, np.ndarray]]:
    """Chunks of events in time order.

    Sessions are sorted by start and cut into chunks of about equal event counts. Events of a
    chunk that happen after the next chunk's first session starts are held back and merged into
    the next chunk, so the whole stream is sorted by time.
    """
    crawlable = np.flatnonzero(catalog.first_seen < 0)
    bounds = np.searchsorted(
        np.cumsum(caps), np.linspace(0, caps.sum(), n_chunks + 1)[1:-1], side="right"
    )
    edges = np.r_[0, bounds, len(plan)]
    carry: dict[str, np.ndarray] | None = None
    for c in range(n_chunks):
        rows = np.arange(edges[c], edges[c + 1])
        events = _expand(rng, plan, caps, rows, catalog, crawlable)
        if carry is not None:
            events = _concat_atoms([carry, events])
        order = np.argsort(events["ts"], kind="stable")
        events = {k: v[order] for k, v in events.items()}
        if c + 1 < n_chunks:
            cut = int(np.searchsorted(events["ts"], plan["start"][edges[c + 1]], side="left"))
            carry = {k: v[cut:] for k, v in events.items()}
            events = {k: v[:cut] for k, v in events.items()}
        yield events


# ---------------------------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------------------------


def _misspellings(token: str, rng: np.random.Generator) -> list[str]:
    """Three typos of ``token`` (swapped, dropped, neighbouring key) and a typed-ahead prefix."""
    letters = [i for i, c in enumerate(token) if c.isalpha()]
    if len(letters) < 4:
        return [token, token, token, token]
    i = letters[1 + int(rng.integers(len(letters) - 2))]
    swapped = token[: i - 1] + token[i] + token[i - 1] + token[i + 1 :]
    dropped = token[:i] + token[i + 1 :]
    neighbours = _KEYBOARD_NEIGHBOURS.get(token[i], token[i])
    replaced = token[:i] + neighbours[int(rng.integers(len(neighbours)))] + token[i + 1 :]
    prefix = token[: max(3, math.ceil(0.6 * len(token)))].rstrip(" -")
    return [swapped, dropped, replaced, prefix]


@dataclass
class _QueryVocab:
    """Every query word with its misspellings: variant ``v`` of token ``t`` is ``5 * t + v``."""

    variants: pa.Array
    brand: np.ndarray
    model: np.ndarray
    colour: np.ndarray
    material: np.ndarray
    feature: np.ndarray
    size: np.ndarray
    synonyms: np.ndarray  # tokens of all product types' nouns, noun first within each type
    synonym_start: np.ndarray
    synonym_count: np.ndarray


def _query_vocab(rng: np.random.Generator, vocab: _Vocab) -> _QueryVocab:
    """Lower-case query words of every attribute and product type, with their misspellings."""
    tokens: list[str] = []
    ids: dict[str, int] = {}

    def ids_of(words: Iterable[str]) -> np.ndarray:
        return _index(tokens, ids, tuple(w.lower() for w in words))

    groups = {
        "brand": ids_of(vocab.brands),
        "model": ids_of(vocab.models),
        "colour": ids_of(vocab.colours),
        "material": ids_of(vocab.materials),
        "feature": ids_of(vocab.features),
        "size": ids_of(vocab.sizes),
    }
    per_type = [ids_of((t.noun, *t.synonyms)) for t in TREE.types]
    counts = np.array([len(p) for p in per_type])
    variants = []
    for token in tokens:
        variants.append(token)
        variants.extend(_misspellings(token, rng))
    return _QueryVocab(
        variants=pa.array(variants, type=pa.string()),
        synonyms=np.concatenate(per_type),
        synonym_start=np.cumsum(counts) - counts,
        synonym_count=counts,
        **groups,
    )


def _render_queries(
    rng: np.random.Generator, items: np.ndarray, catalog: _Catalog, words: _QueryVocab
) -> pa.Array:
    """A shopper's query for each target product.

    Mostly a product noun or synonym with optional brand, colour, material or feature and size;
    sometimes brand and model name (a partial title) or the brand alone. About one word in ten
    is misspelled or cut short.
    """
    n = len(items)
    mode = rng.random(n)
    by_model = mode < 0.07  # brand and model name; 0.07 <= mode < 0.1: the brand alone
    general = mode >= 0.1
    type_idx = catalog.type_idx[items]
    synonym = np.where(
        rng.random(n) < 0.45,
        0,
        1 + np.floor(rng.random(n) * (words.synonym_count[type_idx] - 1)).astype(np.int64),
    )
    use_feature = rng.random(n) < 0.4
    has_size = catalog.size[items] >= 0
    quality = np.where(
        use_feature,
        words.feature[catalog.feature[items]],
        words.material[catalog.material[items]],
    )
    slots = [
        (words.brand[catalog.brand[items]], ~general | (rng.random(n) < 0.25)),
        (words.model[catalog.model[items]], by_model),
        (words.colour[catalog.colour[items]], general & (rng.random(n) < 0.25)),
        (quality, general & (rng.random(n) < 0.2)),
        (words.synonyms[words.synonym_start[type_idx] + synonym], general),
        (
            words.size[np.maximum(catalog.size[items], 0)],
            general & has_size & (rng.random(n) < 0.08),
        ),
    ]
    columns = []
    for tokens, active in slots:
        u = rng.random(n)
        variant = np.where(u < 0.9, 0, np.where(u < 0.97, 1 + (u * 1000).astype(int) % 3, 4))
        index = pa.array(5 * tokens.astype(np.int64) + variant, mask=~active)
        columns.append(words.variants.take(index))
    return pc.binary_join_element_wise(*columns, " ", null_handling="skip")


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------

EVENTS_SCHEMA = pa.schema(
    [
        (USER_ID, pa.string()),
        (ITEM_ID, pa.string()),
        (EVENT, pa.string()),
        (TS, pa.timestamp("s")),
        (SESSION_ID, pa.string()),
        (QUERY, pa.string()),
        (VALUE, pa.float64()),
    ]
)


def _write_tables(
    path: Path, tables: Iterable[pa.Table], fmt: str, plain: tuple[str, ...] = ()
) -> None:
    """Write ``tables`` one after another into one Parquet (zstd) or CSV file.

    The file is written under a temporary name and renamed when complete. ``plain`` names
    Parquet columns written without dictionary encoding (ids that rarely repeat).
    """
    partial = path.with_name(path.name + ".partial")
    writer = None
    try:
        for table in tables:
            if writer is None:
                if fmt == "parquet":
                    dictionary = [name for name in table.schema.names if name not in plain]
                    writer = pq.ParquetWriter(
                        partial, table.schema, compression="zstd", use_dictionary=dictionary
                    )
                else:
                    writer = pa_csv.CSVWriter(partial, table.schema)
            writer.write_table(table)
    except BaseException:
        if writer is not None:
            writer.close()
        partial.unlink(missing_ok=True)
        raise
    writer.close()
    os.replace(partial, path)


def _events_table(
    events: dict[str, np.ndarray],
    queries: pa.Array,
    users: _Users,
    catalog: _Catalog,
    session_ids: pa.Array,
) -> pa.Table:
    item = events["item"]
    search_rows = np.flatnonzero(events["code"] == _SEARCH)
    query_index = np.full(len(item), len(queries), dtype=np.int64)
    query_index[search_rows] = np.arange(len(search_rows))
    query_column = pa.concat_arrays([queries, pa.nulls(1, pa.string())]).take(pa.array(query_index))
    return pa.table(
        [
            users.user_ids.take(pa.array(events["user"])),
            catalog.item_ids.take(pa.array(item, mask=item < 0)),
            pa.array(EVENT_NAMES).take(pa.array(events["code"])),
            _timestamps(events["ts"]),
            session_ids.take(pa.array(events["session"])),
            query_column,
            pa.array(events["value"], mask=np.isnan(events["value"])),
        ],
        schema=EVENTS_SCHEMA,
    )


def _users_table(users: _Users, sessions_per_user: np.ndarray, catalog: _Catalog) -> pa.Table:
    """Ground truth of every user: tastes, activity, favourite brands, bot flag."""
    n, h = users.n_users, users.n_humans
    bot_nan = np.full(n - h, np.nan)

    def human_floats(values: np.ndarray) -> pa.Array:
        full = np.concatenate([values, bot_nan])
        return pa.array(full, mask=np.isnan(full))

    def human_strings(names: list[str], idx: np.ndarray) -> pa.Array:
        return pa.array([*names, None], type=pa.string()).take(
            pa.array(np.concatenate([idx, np.full(n - h, len(names))]))
        )

    top_affinity = users.sub_affinity @ _sub_membership()
    columns = {
        USER_ID: users.user_ids,
        "is_bot": pa.array(np.arange(n) >= h),
        "joined": _timestamps(np.concatenate([users.joined, np.zeros(n - h, dtype=np.int64)])),
        "n_sessions": pa.array(sessions_per_user.astype(np.int64)),
        "activity": human_floats(users.activity),
        "price_sensitivity": human_floats(users.price_sensitivity),
        "brand_loyalty": human_floats(users.brand_loyalty),
        "favourite_category": human_strings(
            [t.name for t in TREE.tops], np.argmax(top_affinity, axis=1)
        ),
        "favourite_subcategory": human_strings(
            list(TREE.sub_path), np.argmax(users.sub_affinity, axis=1)
        ),
    }
    for t, top in enumerate(TREE.tops):
        columns[f"affinity_{_slug(top.name)}"] = human_floats(top_affinity[:, t])
    for t, top in enumerate(TREE.tops):
        columns[f"favourite_brand_{_slug(top.name)}"] = human_strings(
            catalog.vocab.brands, users.favourite_brand[:, t]
        )
    table = pa.table(columns)
    return table.take(pc.sort_indices(table, [(USER_ID, "ascending")]))


def _session_tables(
    plan: _Plan, caps: np.ndarray, users: _Users, catalog: _Catalog, session_ids: pa.Array
) -> Iterator[pa.Table]:
    """Ground truth of every session, in slices: user, start, target product, what happened."""
    paths = pa.array([*TREE.type_path, None], type=pa.string())
    lengths = plan.lengths
    for first in range(0, len(plan), CHUNK_EVENTS):
        rows = slice(first, first + CHUNK_EVENTS)
        target, cap = plan["target"][rows], caps[rows]
        target_type = np.where(target >= 0, catalog.type_idx[np.maximum(target, 0)], len(paths) - 1)
        yield pa.table(
            {
                SESSION_ID: session_ids[rows],
                USER_ID: users.user_ids.take(pa.array(plan["user"][rows])),
                "start": _timestamps(plan["start"][rows]),
                "target_item_id": catalog.item_ids.take(pa.array(target, mask=target < 0)),
                "target_category": paths.take(pa.array(target_type)),
                "n_events": pa.array(cap.astype(np.int64)),
                "n_searches": pa.array(np.minimum(plan["n_searches"][rows], cap).astype(np.int64)),
                "purchased": pa.array((plan["purchase"][rows] > 0) & (cap == lengths[rows])),
                "is_revisit": pa.array(plan["revisit"][rows]),
                "is_exploration": pa.array(plan["explore"][rows]),
                "is_bot": pa.array(plan["is_bot"][rows]),
            }
        )


# ---------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------


def simulate_world(
    n_events: int,
    out_dir: Path,
    *,
    random_state: int = 7,
    fmt: str = "parquet",
    callback: Callback | None = None,
) -> WorldSummary:
    """Generate a seeded e-commerce world and write it to ``out_dir``.

    Parameters
    ----------
    n_events : int
        Exact number of events in the log (at least ``MIN_EVENTS``). Users, products and bots
        scale with it (see :func:`world_size`); the period is always ``PERIOD_DAYS`` days.
    out_dir : Path
        Folder to write into (created if missing). Files: ``events``, ``catalog``,
        ``ground_truth_users`` and ``ground_truth_sessions`` with the extension of ``fmt``.
        Each is written under a temporary name and renamed when complete.
    random_state : int
        Seed; the same seed and size give byte-identical files.
    fmt : {"parquet", "csv"}
        Parquet (zstd) or CSV with a header.
    callback : callable, optional
        ``callback(step, total, info)`` after each stage and each written chunk of events.

    Returns
    -------
    WorldSummary
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, got {fmt!r}")
    began = time.perf_counter()
    size = world_size(n_events)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n_chunks = max(1, math.ceil(size.n_events / CHUNK_EVENTS))
    total = 4 + n_chunks

    def report(step: int, info: str) -> None:
        if callback is not None:
            callback(step, total, info)

    catalog_rng, user_rng, plan_rng, event_rng = _streams(random_state, 4)
    catalog = _make_catalog(catalog_rng, size.n_items)
    report(1, f"catalogue: {size.n_items:,} products")
    users, sub_popularity = _make_users(user_rng, size, catalog)
    report(2, f"users: {size.n_users:,} ({size.n_bots} bots)")
    plan, caps = _plan_world(plan_rng, size, users, catalog, sub_popularity)
    session_ids = _prefixed_ids("S", np.arange(1, len(plan) + 1), max(7, len(str(len(plan)))))
    report(3, f"sessions: {len(plan):,}")

    paths = {name: out_dir / f"{name}.{fmt}" for name in (
        "events", "catalog", "ground_truth_users", "ground_truth_sessions")}  # fmt: skip
    words = _query_vocab(event_rng, catalog.vocab)
    counts = np.zeros(len(EVENT_NAMES), dtype=np.int64)

    def event_tables() -> Iterator[pa.Table]:
        stream = _event_stream(event_rng, plan, caps, catalog, n_chunks)
        for c, events in enumerate(stream, start=1):
            search_items = events["query_item"][events["code"] == _SEARCH]
            queries = _render_queries(event_rng, search_items, catalog, words)
            yield _events_table(events, queries, users, catalog, session_ids)
            counts[:] += np.bincount(events["code"], minlength=len(EVENT_NAMES))
            report(3 + c, f"events: {int(counts.sum()):,} of {size.n_events:,}")

    _write_tables(paths["events"], event_tables(), fmt, plain=(SESSION_ID,))
    _write_tables(paths["catalog"], [catalog.table], fmt)
    sessions_per_user = np.bincount(plan["user"], minlength=users.n_users)
    users_table = _users_table(users, sessions_per_user, catalog)
    _write_tables(paths["ground_truth_users"], [users_table], fmt)
    _write_tables(
        paths["ground_truth_sessions"],
        _session_tables(plan, caps, users, catalog, session_ids),
        fmt,
        plain=(SESSION_ID,),
    )
    report(total, "ground truth written")
    period_end = datetime.fromordinal(PERIOD_START.toordinal() + PERIOD_DAYS)
    return WorldSummary(
        n_events=int(counts.sum()),
        n_users=size.n_users,
        n_items=size.n_items,
        n_sessions=len(plan),
        n_bots=size.n_bots,
        n_top_categories=len(TREE.tops),
        n_subcategories=len(TREE.subs),
        n_product_types=len(TREE.types),
        start=PERIOD_START,
        end=period_end,
        event_counts={name: int(c) for name, c in zip(EVENT_NAMES, counts, strict=True)},
        files=paths,
        seconds=time.perf_counter() - began,
        random_state=random_state if isinstance(random_state, int) else None,
        fmt=fmt,
    )


def _progress_bar() -> tuple[Callback, Callable[[], None]]:
    """A tqdm bar on stderr as a ``callback(step, total, info)``, and a function to close it."""
    from tqdm import tqdm

    bar = tqdm(total=1, desc="simulate", unit="step")

    def callback(step: int, total: int, info: str) -> None:
        bar.total = total
        bar.n = step
        bar.set_postfix_str(info)
        bar.refresh()

    return callback, bar.close


def main(argv: list[str] | None = None) -> int:
    """``simulate --events N --out DIR [--seed S] [--format parquet|csv]``."""
    parser = argparse.ArgumentParser(
        prog="python -m core simulate",
        description="Generate a seeded synthetic shop: events, catalogue and ground truth.",
    )
    parser.add_argument("--events", type=int, required=True, help="number of events to generate")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--format", choices=FORMATS, default="parquet", help="file format")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.events < MIN_EVENTS:
        parser.error(f"--events must be at least {MIN_EVENTS:,}")
    callback, close = _progress_bar()
    try:
        summary = simulate_world(
            args.events, args.out, random_state=args.seed, fmt=args.format, callback=callback
        )
    finally:
        close()
    print(
        f"wrote {summary.n_events:,} events, {summary.n_sessions:,} sessions, "
        f"{summary.n_users:,} users ({summary.n_bots} bots), {summary.n_items:,} products "
        f"to {args.out} in {summary.seconds:.1f} s"
    )
    print("events by type: " + ", ".join(f"{k} {v:,}" for k, v in summary.event_counts.items()))
    return 0
