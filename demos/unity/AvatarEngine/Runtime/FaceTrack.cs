// A face track from the avatar engine: ARKit-52 weights, head and gaze per frame, read from our files.
//
// Formats (both written by `avatar render` / `avatar export`, see rigs/formats in the engine):
//   face.csv  - Live Link Face CSV: Timecode (HH:MM:SS:FF.mmm), BlendShapeCount, the 52 shapes in PascalCase, then
//               HeadYaw, HeadPitch, HeadRoll, LeftEyeYaw, LeftEyePitch, LeftEyeRoll, RightEyeYaw, RightEyePitch,
//               RightEyeRoll (radians). Columns are matched by name, so the app's own takes read too.
//   face.json - ARKit JSON, BEAT layout: {"names": [52], "fps": 30, "frames": [{"time", "weights": [52],
//               "head": [yaw, pitch, roll], "gaze": [leftYaw, leftPitch, rightYaw, rightPitch]}]}.
//               JsonUtility cannot read nested arrays, but this layout has none: each frame is an object.
// Angles are radians in the engine's frame: Y up, the face looks along +Z, +X is the character's left;
// yaw turns toward the character's left, pitch looks down, roll tilts toward the character's right shoulder.
using System;
using System.Collections.Generic;
using System.Globalization;
using UnityEngine;

namespace AvatarEngine
{
    public sealed class FaceTrack
    {
        /// <summary>The 52 ARKit blendshape names in Apple's order (the order of <see cref="Weights"/>).</summary>
        public static readonly string[] ArkitNames =
        {
            "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft", "eyeSquintLeft",
            "eyeWideLeft", "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
            "eyeSquintRight", "eyeWideRight", "jawForward", "jawLeft", "jawRight", "jawOpen",
            "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight", "mouthSmileLeft",
            "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight", "mouthDimpleLeft", "mouthDimpleRight",
            "mouthStretchLeft", "mouthStretchRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower",
            "mouthShrugUpper", "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight",
            "mouthUpperUpLeft", "mouthUpperUpRight", "browDownLeft", "browDownRight", "browInnerUp",
            "browOuterUpLeft", "browOuterUpRight", "cheekPuff", "cheekSquintLeft", "cheekSquintRight",
            "noseSneerLeft", "noseSneerRight", "tongueOut",
        };

        public const int ShapeCount = 52;

        static readonly Dictionary<string, int> IndexIgnoringCase = BuildIndex();

        /// <summary>Frame times in seconds, increasing, the first at 0.</summary>
        public float[] Times { get; }
        /// <summary>Weights in [0, 1], frame-major: Weights[frame * 52 + shape].</summary>
        public float[] Weights { get; }
        /// <summary>Head yaw, pitch, roll in radians: Head[frame * 3 + k].</summary>
        public float[] Head { get; }
        /// <summary>Left yaw, left pitch, right yaw, right pitch in radians: Gaze[frame * 4 + k].</summary>
        public float[] Gaze { get; }
        public float Fps { get; }

        public int FrameCount => Times.Length;
        public float Duration => FrameCount == 0 ? 0f : Times[FrameCount - 1] + 1f / Fps;

        FaceTrack(float[] times, float[] weights, float[] head, float[] gaze, float fps)
        {
            Times = times;
            Weights = weights;
            Head = head;
            Gaze = gaze;
            Fps = fps;
        }

        /// <summary>The ARKit index (0-51) of a blendshape name in any capitalisation, or -1.</summary>
        public static int ArkitIndex(string name)
        {
            return name != null && IndexIgnoringCase.TryGetValue(name.Trim(), out var i) ? i : -1;
        }

        /// <summary>Reads face.csv or face.json, chosen by the file name's extension (or by the text itself).</summary>
        public static FaceTrack Parse(string text, string fileName, float csvFps = 0f)
        {
            if (string.IsNullOrWhiteSpace(text))
                throw new FormatException($"{fileName}: the file is empty");
            var name = fileName ?? "";
            bool json = name.EndsWith(".json", StringComparison.OrdinalIgnoreCase) ||
                        (!name.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) && text.TrimStart().StartsWith("{"));
            return json ? FromArkitJson(text, name) : FromLiveLinkCsv(text, name, csvFps);
        }

        // ---- ARKit JSON (BEAT layout) ----

        // Filled by JsonUtility, which the compiler cannot see.
#pragma warning disable 0649
        [Serializable]
        class JsonFrame
        {
            public float time;
            public float[] weights;
            public float[] head;
            public float[] gaze;
        }

        [Serializable]
        class JsonDocument
        {
            public string[] names;
            public float fps;
            public JsonFrame[] frames;
        }
#pragma warning restore 0649

        public static FaceTrack FromArkitJson(string text, string where = "face.json")
        {
            JsonDocument doc;
            try
            {
                doc = JsonUtility.FromJson<JsonDocument>(text);
            }
            catch (ArgumentException error)
            {
                throw new FormatException($"{where}: not valid JSON ({error.Message})");
            }
            if (doc == null || doc.frames == null || doc.frames.Length == 0)
            {
                if (text.Contains("\"weightMat\""))
                    throw new FormatException($"{where} is in the Audio2Face layout (nested arrays); export the BEAT " +
                                              "layout instead: avatar export face.csv --formats json");
                throw new FormatException($"{where} has no \"frames\"; expected the BEAT layout that avatar writes");
            }
            var names = doc.names != null && doc.names.Length > 0 ? doc.names : ArkitNames;
            var columns = new int[names.Length];
            for (int j = 0; j < names.Length; j++)
                columns[j] = ArkitIndex(names[j]);

            int n = doc.frames.Length;
            var times = new float[n];
            var weights = new float[n * ShapeCount];
            var head = new float[n * 3];
            var gaze = new float[n * 4];
            for (int i = 0; i < n; i++)
            {
                var frame = doc.frames[i];
                if (frame.weights == null || frame.weights.Length != names.Length)
                    throw new FormatException($"{where}: frame {i} has {frame.weights?.Length ?? 0} weights; " +
                                              $"expected {names.Length}, one per name");
                for (int j = 0; j < names.Length; j++)
                    if (columns[j] >= 0)
                        weights[i * ShapeCount + columns[j]] = Mathf.Clamp01(frame.weights[j]);
                CopyInto(frame.head, head, i * 3, 3);
                CopyInto(frame.gaze, gaze, i * 4, 4);
                times[i] = frame.time;
            }

            // JsonUtility reads a missing key as 0, so whether frames carry times is read from the text.
            bool hasTimes = text.Contains("\"time\"");
            float fps = doc.fps;
            if (!(fps > 0f))
            {
                if (!hasTimes || n < 2 || !(times[1] > times[0]))
                    throw new FormatException($"{where} has neither \"fps\" nor usable frame times");
                fps = 1f / (times[1] - times[0]);
            }
            if (!hasTimes)
                for (int k = 0; k < n; k++)
                    times[k] = k / fps;
            Rebase(times, where);
            return new FaceTrack(times, weights, head, gaze, fps);
        }

        static void CopyInto(float[] source, float[] target, int offset, int count)
        {
            if (source == null)
                return; // BEAT's own files have no head or gaze: they stay 0
            for (int k = 0; k < count && k < source.Length; k++)
                target[offset + k] = source[k];
        }

        // ---- Live Link Face CSV ----

        public static FaceTrack FromLiveLinkCsv(string text, string where = "face.csv", float fps = 0f)
        {
            var lines = text.Replace("\r\n", "\n").Replace('\r', '\n').Split('\n');
            var rows = new List<string[]>();
            foreach (var line in lines)
                if (line.Trim().Length > 0)
                    rows.Add(line.Split(','));
            if (rows.Count < 2 || rows[0][0].Trim().TrimStart('\uFEFF') != "Timecode")
                throw new FormatException($"{where} does not start with a 'Timecode,BlendShapeCount,...' header; " +
                                          "not a Live Link Face CSV");
            var header = rows[0];
            var shapeColumn = new int[header.Length];
            int[] angleColumn = { -1, -1, -1, -1, -1, -1, -1 }; // head yaw/pitch/roll, left yaw/pitch, right yaw/pitch
            string[] angleNames = { "HeadYaw", "HeadPitch", "HeadRoll", "LeftEyeYaw", "LeftEyePitch", "RightEyeYaw",
                                    "RightEyePitch" };
            int found = 0;
            for (int j = 0; j < header.Length; j++)
            {
                var name = header[j].Trim();
                shapeColumn[j] = j < 2 ? -1 : ArkitIndex(name);
                if (shapeColumn[j] >= 0)
                    found++;
                int a = Array.IndexOf(angleNames, name);
                if (a >= 0)
                    angleColumn[a] = j;
            }
            if (found < ShapeCount)
                throw new FormatException($"{where} names {found} of the 52 ARKit blendshapes in its header; " +
                                          "a Live Link Face CSV has all 52");

            int n = rows.Count - 1;
            var frameInSecond = new int[n];
            var subFrame = new double[n];
            var angles = new float[n * 7];
            var seconds = new double[n];
            var weights = new float[n * ShapeCount];
            var head = new float[n * 3];
            var gaze = new float[n * 4];
            bool sixtyBase = false;
            for (int i = 0; i < n; i++)
            {
                var row = rows[i + 1];
                if (row.Length != header.Length)
                    throw new FormatException($"{where} row {i + 2} has {row.Length} values; the header has " +
                                              $"{header.Length}");
                ParseTimecode(row[0], where, i + 2, out seconds[i], out frameInSecond[i], out subFrame[i]);
                sixtyBase |= frameInSecond[i] + subFrame[i] > 30.0;
                for (int j = 2; j < row.Length; j++)
                {
                    if (shapeColumn[j] < 0)
                        continue;
                    weights[i * ShapeCount + shapeColumn[j]] = Mathf.Clamp01(Number(row[j], where, i + 2));
                }
                for (int a = 0; a < 7; a++)
                {
                    if (angleColumn[a] < 0)
                        continue;
                    angles[i * 7 + a] = Number(row[angleColumn[a]], where, i + 2);
                }
                // The app's angles are the left-right mirror of ours (yaw and roll change sign), and its eye angles
                // are those of a pitch-then-yaw eye: turn them back into our yaw-then-pitch gaze.
                head[i * 3] = -angles[i * 7];
                head[i * 3 + 1] = angles[i * 7 + 1];
                head[i * 3 + 2] = -angles[i * 7 + 2];
                for (int eye = 0; eye < 2; eye++)
                    EyeGaze(-angles[i * 7 + 3 + 2 * eye], angles[i * 7 + 4 + 2 * eye], out gaze[i * 4 + 2 * eye],
                            out gaze[i * 4 + 2 * eye + 1]);
            }
            // Unreal's importer rule, which our files and the app's takes follow: FF counts sixtieths of a second
            // when any FF exceeds 30, else thirtieths.
            double frameBase = sixtyBase ? 60.0 : 30.0;
            var times = new float[n];
            for (int i = 0; i < n; i++)
                times[i] = (float)(seconds[i] - seconds[0] + (frameInSecond[i] + subFrame[i]) / frameBase);
            if (!(fps > 0f))
            {
                if (n < 2 || !(times[n - 1] > times[0]))
                    throw new FormatException($"{where} holds one frame, so its frame rate cannot be read from the " +
                                              "timecodes; set the player's CSV Fps");
                fps = SnapRate((n - 1) / (times[n - 1] - times[0]));
            }
            Rebase(times, where);
            return new FaceTrack(times, weights, head, gaze, fps);
        }

        static void EyeGaze(float yaw, float pitch, out float gazeYaw, out float gazePitch)
        {
            // Same gaze direction: d = Rx(pitch) Ry(yaw) z = Ry(gazeYaw) Rx(gazePitch) z.
            gazeYaw = Mathf.Atan2(Mathf.Sin(yaw), Mathf.Cos(pitch) * Mathf.Cos(yaw));
            gazePitch = Mathf.Asin(Mathf.Clamp(Mathf.Sin(pitch) * Mathf.Cos(yaw), -1f, 1f));
        }

        static float SnapRate(float raw)
        {
            // Whole and NTSC (x / 1.001) rates, as the timecodes' millisecond rounding leaves them.
            foreach (var candidate in new[] { Mathf.Round(raw), Mathf.Round(raw * 1.001f) / 1.001f })
                if (candidate > 0f && Mathf.Abs(raw / candidate - 1f) < 2e-4f)
                    return candidate;
            return raw;
        }

        static void ParseTimecode(string text, string where, int row, out double wholeSeconds, out int frame,
                                  out double subFrame)
        {
            // HH:MM:SS:FF or HH:MM:SS:FF.mmm (';' before FF in drop-frame timecode); .mmm is the sub-frame.
            var parts = text.Trim().Replace(';', ':').Split(':');
            var bad = new FormatException($"{where} row {row}: timecode '{text}' is not HH:MM:SS:FF[.mmm]");
            if (parts.Length != 4)
                throw bad;
            var ff = parts[3].Split('.');
            subFrame = 0.0;
            if (!int.TryParse(parts[0], out var hh) || !int.TryParse(parts[1], out var mm) ||
                !int.TryParse(parts[2], out var ss) || !int.TryParse(ff[0], out frame) || ff.Length > 2 ||
                (ff.Length == 2 && !double.TryParse("0." + ff[1], NumberStyles.Float, CultureInfo.InvariantCulture,
                                                    out subFrame)))
                throw bad;
            wholeSeconds = hh * 3600.0 + mm * 60.0 + ss;
        }

        static float Number(string cell, string where, int row)
        {
            if (!float.TryParse(cell.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                throw new FormatException($"{where} row {row}: '{cell}' is not a number");
            return value;
        }

        static void Rebase(float[] times, string where)
        {
            float first = times[0];
            for (int i = 0; i < times.Length; i++)
            {
                times[i] -= first;
                if (i > 0 && !(times[i] > times[i - 1]))
                    throw new FormatException($"{where}: frame {i} does not come after frame {i - 1} in time");
            }
        }

        static Dictionary<string, int> BuildIndex()
        {
            var index = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
            for (int i = 0; i < ArkitNames.Length; i++)
                index[ArkitNames[i]] = i;
            return index;
        }

        // ---- Sampling ----

        /// <summary>The frame pair around a time and the blend between them (time clamped to the track).</summary>
        public void Locate(float time, out int frame, out int next, out float blend)
        {
            int n = FrameCount;
            if (n == 1 || time <= 0f)
            {
                frame = next = 0;
                blend = 0f;
                return;
            }
            if (time >= Times[n - 1])
            {
                frame = next = n - 1;
                blend = 0f;
                return;
            }
            int i = Array.BinarySearch(Times, time);
            frame = i >= 0 ? i : ~i - 1;
            next = Math.Min(frame + 1, n - 1);
            float span = Times[next] - Times[frame];
            blend = span > 0f ? (time - Times[frame]) / span : 0f;
        }

        /// <summary>Weights (52, in [0, 1]) at a time, linearly interpolated.</summary>
        public void SampleWeights(float time, float[] result)
        {
            Locate(time, out var a, out var b, out var t);
            for (int k = 0; k < ShapeCount; k++)
                result[k] = Mathf.Lerp(Weights[a * ShapeCount + k], Weights[b * ShapeCount + k], t);
        }

        /// <summary>Head yaw, pitch, roll and gaze (left yaw, left pitch, right yaw, right pitch), radians.</summary>
        public void SampleAngles(float time, float[] head, float[] gaze)
        {
            Locate(time, out var a, out var b, out var t);
            for (int k = 0; k < 3; k++)
                head[k] = Mathf.Lerp(Head[a * 3 + k], Head[b * 3 + k], t);
            for (int k = 0; k < 4; k++)
                gaze[k] = Mathf.Lerp(Gaze[a * 4 + k], Gaze[b * 4 + k], t);
        }
    }
}
