namespace DeepDeploy.LocalHub;

/// <summary>
/// The tiny model's ordinary tokens: common English words (as SentencePiece pieces, "▁" being the space before a
/// word) and punctuation, so that even random weights produce a string of real words. Any other text still
/// tokenizes, through the 256 byte-fallback tokens.
/// </summary>
public static class WordVocabulary
{
    /// <summary>SentencePiece's word boundary: a piece that starts with it is a word after a space.</summary>
    public const string Space = "▁";

    public static readonly string[] Words =
    [
        "the", "a", "an", "and", "or", "but", "so", "if", "then", "because", "while", "when", "where", "how", "why", "what",
        "who", "which", "that", "this", "these", "those", "there", "here", "now", "soon", "today", "tomorrow", "always",
        "never", "often", "again", "still", "just", "only", "also", "very", "quite", "almost", "together",
        "I", "you", "he", "she", "it", "we", "they", "me", "him", "her", "us", "them", "my", "your", "his", "our", "their",
        "is", "are", "was", "were", "be", "been", "has", "have", "had", "do", "does", "did", "can", "could", "will",
        "would", "should", "may", "might", "must",
        "go", "went", "come", "came", "see", "saw", "look", "make", "made", "take", "took", "give", "gave", "find", "found",
        "know", "knew", "think", "thought", "say", "said", "tell", "told", "ask", "asked", "want", "need", "like", "love",
        "help", "try", "keep", "leave", "feel", "felt", "bring", "run", "ran", "walk", "walked", "sing", "sang", "write",
        "wrote", "read", "build", "built", "open", "close", "begin", "began", "learn", "play", "watch", "wait", "turn",
        "of", "to", "in", "on", "at", "by", "for", "with", "from", "into", "over", "under", "about", "after", "before",
        "through", "across", "near", "far", "up", "down", "out", "away", "around", "between",
        "time", "day", "night", "morning", "evening", "year", "world", "house", "home", "city", "river", "sea", "road",
        "tree", "forest", "garden", "mountain", "sky", "sun", "moon", "star", "rain", "wind", "fire", "water", "stone",
        "light", "dark", "door", "window", "table", "book", "story", "song", "letter", "word", "name", "voice", "dream",
        "friend", "child", "mother", "father", "king", "queen", "people", "man", "woman", "dog", "cat", "bird", "horse",
        "fish", "ship", "train", "machine", "computer", "model", "question", "answer", "idea", "way", "place", "thing",
        "part", "hand", "eye", "heart", "head", "side", "end", "music", "color", "summer", "winter",
        "good", "new", "old", "great", "little", "small", "big", "long", "short", "high", "low", "young", "happy", "sad",
        "bright", "quiet", "loud", "warm", "cold", "green", "blue", "red", "white", "black", "golden", "silver", "strange",
        "beautiful", "gentle", "brave", "wise", "kind", "early", "late", "first", "last", "next", "every", "many", "some",
        "all", "one", "two", "three", "ten", "hundred", "more", "most", "other", "same", "own",
        "hello", "yes", "no", "not", "well", "perhaps", "indeed", "slowly", "quickly", "softly", "suddenly",
    ];

    /// <summary>Marks that follow a word without a space.</summary>
    public static readonly string[] Punctuation = [".", ",", "!", "?", ";", ":", "'s", "n't"];

    /// <summary>The ordinary pieces, in order: the bare space, each word after a space, punctuation.</summary>
    public static IReadOnlyList<string> Pieces { get; } =
        [Space, .. Words.Select(w => Space + w), .. Punctuation];
}
