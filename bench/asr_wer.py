#!/usr/bin/env python3
"""asr_wer.py - word error rate of vidx's built-in speech recogniser (PocketSphinx).

Two measurements, through `vidx transcribe` (the user's path: decode at 16 kHz
mono, chunk at pauses, recognise):

(a) narration: torchcodec_nasa_13013.mp4 from the corpus, whose subtitle stream
    holds the reference text. The reference is cut to the audio's span (the
    subtitles run past the end of the audio): cues inside the span count whole,
    a cue the span's end cuts counts the share of its words that its time
    share is (words taken as evenly spread over the cue). Measured on the file
    as given (the audio stream vidx picks) and on each audio stream extracted
    with ffmpeg.
(b) synthetic speech spoken by espeak-ng with the given voices: the Harvard
    sentences, list 1 (IEEE 1969, the usual phonetically balanced test
    sentences), one WAV per sentence; and the first six sentences of the
    Rainbow Passage (Fairbanks 1960) as one continuous WAV of about 35 s.

WER = (substitutions + deletions + insertions) / reference words, by word-level
Levenshtein distance after normalisation (lower case, curly apostrophes
straightened, speaker labels such as "NAR:" and punctuation dropped, hyphens as
spaces). Needs ffmpeg, ffprobe, espeak-ng and a built vidx. Python stdlib only.

    python3 bench/asr_wer.py [--vidx build/tools/vidx/vidx] [--corpus DIR]
                             [--voice en-us+klatt2 --voice en-us] [-v]
"""
import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile

HARVARD_1 = [
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.",
    "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.",
    "A large size in stockings is hard to sell.",
]
# The Rainbow Passage (Fairbanks 1960), its first six sentences: continuous speech.
RAINBOW = (
    "When the sunlight strikes raindrops in the air, they act as a prism and form a rainbow. "
    "The rainbow is a division of white light into many beautiful colors. "
    "These take the shape of a long round arch, with its path high above, and its two ends "
    "apparently beyond the horizon. There is, according to legend, a boiling pot of gold at "
    "one end. People look, but no one ever finds it. When a man looks for something beyond "
    "his reach, his friends say he is looking for the pot of gold at the end of the rainbow."
)
NASA = "torchcodec_nasa_13013.mp4"


def normalise(text):
    text = re.sub(r"^\s*[A-Z]{2,}:\s*", "", text, flags=re.M)  # speaker labels
    text = text.replace("\u2019", "'").replace("\u2018", "'").lower()
    text = re.sub(r"[-\u2013\u2014/]", " ", text)
    text = re.sub(r"[^a-z0-9' ]", " ", text)
    return [w.strip("'") for w in text.split() if w.strip("'")]


def edit_counts(ref, hyp):
    """(substitutions, deletions, insertions) of the cheapest alignment of hyp to ref."""
    prev = [(j, 0, 0, j) for j in range(len(hyp) + 1)]  # (cost, sub, del, ins)
    for i in range(1, len(ref) + 1):
        cur = [(i, 0, i, 0)]
        for j in range(1, len(hyp) + 1):
            same = ref[i - 1] == hyp[j - 1]
            c, s, d, n = prev[j - 1]
            best = (c + (not same), s + (not same), d, n)
            c, s, d, n = prev[j]
            best = min(best, (c + 1, s, d + 1, n))
            c, s, d, n = cur[j - 1]
            best = min(best, (c + 1, s, d, n + 1))
            cur.append(best)
        prev = cur
    return prev[-1][1:]


class Tally:
    def __init__(self):
        self.sub = self.dele = self.ins = self.words = 0

    def add(self, ref, hyp):
        s, d, i = edit_counts(ref, hyp)
        self.sub, self.dele, self.ins = self.sub + s, self.dele + d, self.ins + i
        self.words += len(ref)
        return (s + d + i) / max(len(ref), 1)

    def wer(self):
        return (self.sub + self.dele + self.ins) / max(self.words, 1)

    def row(self, name):
        return "| %s | %d | %d | %d | %d | %.1f %% |" % (
            name, self.words, self.sub, self.dele, self.ins, 100 * self.wer())


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, **kw).stdout


def transcribe(vidx, path):
    """The segments, and the CPU seconds vidx took."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = json.loads(run([vidx, "transcribe", path]))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return out["segments"], cpu


def srt_cues(path):
    text = run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:s:0", "-f", "srt", "-"])
    cues = []
    stamp = r"(\d+):(\d+):(\d+)[,.](\d+)"
    for block in re.split(r"\n\s*\n", text.decode("utf-8").replace("\r", "")):
        m = re.search(stamp + r"\s*-->\s*" + stamp, block)
        if not m:
            continue
        g = [int(x) for x in m.groups()]
        start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
        end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
        body = block[m.end():].strip()
        cues.append((start, end, body))
    return cues


def reference_in_span(cues, span):
    words = []
    for start, end, body in cues:
        w = normalise(body)
        if end <= span:
            words += w
        elif start < span:
            words += w[: round(len(w) * (span - start) / (end - start))]
    return words


def audio_streams(path):
    out = run(["ffprobe", "-v", "error", "-select_streams", "a", "-show_entries",
               "stream=index,sample_rate,duration", "-of", "json", path])
    return json.loads(out)["streams"]


def hyp_words(segments, span):
    return normalise(" ".join(s["text"] for s in segments if s["start"] < span))


def measure_narration(args, tmp):
    path = os.path.join(args.corpus, NASA)
    streams = audio_streams(path)
    cues = srt_cues(path)
    rows = []
    runs = [("file as given", path, max(float(s["duration"]) for s in streams))]
    for k, s in enumerate(streams):
        wav = os.path.join(tmp, "nasa_a%d.wav" % k)
        run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:a:%d" % k,
             "-ar", "16000", "-ac", "1", wav])
        runs.append(("audio stream %d (%s Hz)" % (s["index"], s["sample_rate"]), wav,
                     float(s["duration"])))
    for name, src, span in runs:
        ref = reference_in_span(cues, span)
        segs, secs = transcribe(args.vidx, src)
        hyp = hyp_words(segs, span)
        t = Tally()
        t.add(ref, hyp)
        rows.append(t.row("%s, 0-%.2f s (%.1f s CPU)" % (name, span, secs)))
        if args.verbose:
            print("REF:", " ".join(ref), "\nHYP:", " ".join(hyp), file=sys.stderr)
    return rows


def measure_espeak(args, tmp):
    rows = []
    for voice in args.voice:
        t = Tally()
        for i, sentence in enumerate(HARVARD_1):
            wav = os.path.join(tmp, "h%d.wav" % i)
            run(["espeak-ng", "-v", voice, "-s", str(args.rate), "-w", wav, sentence])
            segs, _ = transcribe(args.vidx, wav)
            ref, hyp = normalise(sentence), hyp_words(segs, float("inf"))
            e = t.add(ref, hyp)
            if args.verbose:
                print("%s %.2f | %s | %s" % (voice, e, " ".join(ref), " ".join(hyp)),
                      file=sys.stderr)
        rows.append(t.row("espeak-ng -v %s -s %d, Harvard list 1" % (voice, args.rate)))
    for voice in args.voice:
        wav = os.path.join(tmp, "rainbow.wav")
        run(["espeak-ng", "-v", voice, "-s", str(args.rate), "-w", wav, RAINBOW])
        segs, secs = transcribe(args.vidx, wav)
        t = Tally()
        ref, hyp = normalise(RAINBOW), hyp_words(segs, float("inf"))
        t.add(ref, hyp)
        rows.append(t.row("espeak-ng -v %s -s %d, Rainbow Passage (%.1f s CPU)" %
                          (voice, args.rate, secs)))
        if args.verbose:
            print("%s | %s" % (voice, " ".join(hyp)), file=sys.stderr)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vidx", default="build/tools/vidx/vidx")
    ap.add_argument("--corpus", default=os.environ.get("VIDX_CORPUS", "../shared/corpus"))
    ap.add_argument("--voice", action="append")
    ap.add_argument("--rate", type=int, default=140, help="espeak-ng words per minute")
    ap.add_argument("-v", "--verbose", action="store_true", help="references and hypotheses")
    args = ap.parse_args()
    args.voice = args.voice or ["en-us+klatt2", "en-us"]
    print("| speech | reference words | substituted | deleted | inserted | WER |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory(prefix="vidx-asr-wer-") as tmp:
        for row in measure_narration(args, tmp) + measure_espeak(args, tmp):
            print(row, flush=True)


if __name__ == "__main__":
    main()
