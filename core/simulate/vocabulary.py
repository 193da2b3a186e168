"""The shop's fixed data: category tree (top > sub-category > product type) and word lists.

Each product type names its nouns, synonyms, size scheme and median price; each sub-category the
materials, features (with what they mean for the buyer) and uses its products draw from. The word
lists make brand and model names, descriptions and typos. :data:`TREE` is the tree flattened into
arrays indexed by sub-category and product type.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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

MODEL_STEMS = (
    "Aero", "Nova", "Terra", "Pulse", "Vista", "Luna", "Orion", "Flex", "Zephyr", "Atlas",
    "Echo", "Sierra", "Summit", "Halo", "Axis", "Vertex", "Comet", "Drift", "Ember", "Fjord",
    "Glide", "Harbor", "Ion", "Juno", "Kite", "Lumen", "Mesa", "Nimbus", "Opal", "Prism",
    "Quartz", "Ridge", "Sable", "Tide", "Vale", "Willow", "Yukon", "Zenith", "Arc", "Bloom",
)  # fmt: skip
MODEL_SUFFIXES = ("100", "200", "300", "500", "700", "900", "Pro", "Lite", "Max", "Plus", "X", "2")
BRAND_HEADS = (
    "Nor", "Kel", "Ver", "Alt", "Bri", "Cas", "Dun", "El", "Fen", "Gal", "Hal", "Is", "Jun",
    "Kor", "Lum", "Mar", "Nex", "Ol", "Pra", "Quin", "Ros", "Sol", "Tor", "Ul", "Vel", "Wil",
    "Xen", "Yar", "Zen", "Ber", "Cor", "Dal", "Fal", "Gor", "Lin", "Mor",
)  # fmt: skip
BRAND_MIDDLES = ("", "", "", "a", "o", "i", "el", "ar")
BRAND_TAILS = (
    "vik", "ta", "ora", "ex", "ano", "ly", "stone", "field", "ware", "co", "ix", "en", "berg",
    "lux", "mark", "ova", "wood", "line",
)  # fmt: skip

ADJECTIVES = (
    "sturdy", "durable", "well-made", "practical", "versatile", "stylish", "reliable",
    "thoughtfully designed", "good-looking", "dependable",
)  # fmt: skip
CARE_ADJECTIVES = ("gentle", "luxurious", "nourishing", "lightweight", "silky", "refreshing")
LOOKS = ("clean", "modern", "timeless", "understated", "classic", "fresh")
KEYBOARD_NEIGHBOURS = {
    "a": "sq", "b": "vn", "c": "xv", "d": "sf", "e": "wr", "f": "dg", "g": "fh", "h": "gj",
    "i": "uo", "j": "hk", "k": "jl", "l": "k", "m": "n", "n": "bm", "o": "ip", "p": "o",
    "q": "w", "r": "et", "s": "ad", "t": "ry", "u": "yi", "v": "cb", "w": "qe", "x": "zc",
    "y": "tu", "z": "x",
}  # fmt: skip


def slug(name: str) -> str:
    """Lower-case identifier for a category name, used in ground-truth column names."""
    return "_".join("".join(c if c.isalnum() else " " for c in name.lower()).split())


@dataclass(frozen=True)
class Tree:
    """The category tree flattened into arrays indexed by product type (leaf)."""

    tops: tuple[TopCategory, ...]
    subs: tuple[SubCategory, ...]
    types: tuple[ProductType, ...]
    sub_top: np.ndarray  # top index of each sub-category
    type_sub: np.ndarray  # sub-category index of each product type
    type_top: np.ndarray
    type_path: tuple[str, ...]
    sub_path: tuple[str, ...]


def _flatten_tree() -> Tree:
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
    return Tree(
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
