// Plays an avatar-engine face track (face.csv or face.json) on SkinnedMeshRenderers by blendshape name, with
// optional head and eye bones, looping, speed, and an AudioSource as the clock so lips stay on the speech.
using System;
using System.Collections.Generic;
using System.IO;
using UnityEngine;

namespace AvatarEngine
{
    [AddComponentMenu("Avatar Engine/Face Track Player")]
    public sealed class FaceTrackPlayer : MonoBehaviour
    {
        [Header("Track")]
        [Tooltip("face.csv or face.json imported as a TextAsset (Unity imports .csv and .json as text)")]
        public TextAsset trackAsset;
        [Tooltip("Or a file read at start: absolute, or relative to StreamingAssets")]
        public string trackPath = "";
        [Tooltip("Frame rate of a one-frame Live Link CSV (longer takes reveal their own); 0 = read it")]
        public float csvFps;

        [Header("Targets")]
        [Tooltip("Meshes whose blendshapes play the track (head, teeth, eyelashes …); empty = all in children")]
        public SkinnedMeshRenderer[] renderers = Array.Empty<SkinnedMeshRenderer>();
        [Tooltip("Our ARKit names -> this rig's blendshape names; none = ARKit names, any capitalisation")]
        public BlendshapeNameMap nameMap;
        [Tooltip("Read each blendshape's full weight from its last frame (100 for FBX imports, 1 for glTFast); " +
                 "off = use Weight Scale")]
        public bool fullWeightFromMesh = true;
        [Tooltip("Weight at full activation when Full Weight From Mesh is off")]
        public float weightScale = 100f;
        [Tooltip("Optional: turned by the track's head yaw, pitch, roll")]
        public Transform head;
        public Transform leftEye;
        public Transform rightEye;
        [Tooltip("The character's frame for head and eye angles: +Y up, facing +Z (default: this object)")]
        public Transform characterRoot;
        [Tooltip("Add the head and eye turns to an Animator's pose of those bones instead of their rest pose " +
                 "(only when an Animator writes them every frame, or the turns would pile up)")]
        public bool layerOverAnimator;

        [Header("Playback")]
        public bool playOnStart = true;
        public bool loop = true;
        [Range(0.1f, 4f)] public float speed = 1f;
        [Tooltip("Optional: the speech; while it plays, its time drives the face (speed sets its pitch)")]
        public AudioSource audioSource;

        public FaceTrack Track { get; private set; }
        public bool IsPlaying { get; private set; }
        /// <summary>Playback position in seconds.</summary>
        public float PlaybackTime { get; private set; }

        readonly List<int[]> indices = new List<int[]>();
        readonly List<float[]> fullWeights = new List<float[]>();
        readonly float[] weights = new float[FaceTrack.ShapeCount];
        readonly float[] headAngles = new float[3];
        readonly float[] gazeAngles = new float[4];
        Quaternion headRest, leftEyeRest, rightEyeRest;

        void Awake()
        {
            if (renderers == null || renderers.Length == 0)
                renderers = GetComponentsInChildren<SkinnedMeshRenderer>();
            if (characterRoot == null)
                characterRoot = transform;
            if (head != null) headRest = head.localRotation;
            if (leftEye != null) leftEyeRest = leftEye.localRotation;
            if (rightEye != null) rightEyeRest = rightEye.localRotation;
        }

        void Start()
        {
            if (Track == null)
            {
                if (trackAsset != null)
                    Load(trackAsset.text, trackAsset.name + Extension(trackAsset.text));
                else if (!string.IsNullOrEmpty(trackPath))
                    LoadFile(trackPath);
            }
            if (playOnStart && Track != null)
                Play();
        }

        static string Extension(string text)
        {
            // TextAssets lose their extension; the content tells the two formats apart.
            return text.TrimStart().StartsWith("{") ? ".json" : ".csv";
        }

        /// <summary>Reads a face track file (absolute, or relative to StreamingAssets).</summary>
        public void LoadFile(string path)
        {
            var full = Path.IsPathRooted(path) ? path : Path.Combine(Application.streamingAssetsPath, path);
            if (!File.Exists(full))
            {
                Debug.LogError($"FaceTrackPlayer: face track '{full}' does not exist; export one with " +
                               "`avatar render` (face.csv, face.json)", this);
                return;
            }
            Load(File.ReadAllText(full), full);
        }

        /// <summary>Reads a face track from its text; fileName's extension picks the format.</summary>
        public void Load(string text, string fileName)
        {
            try
            {
                Track = FaceTrack.Parse(text, fileName, csvFps);
            }
            catch (FormatException error)
            {
                Debug.LogError($"FaceTrackPlayer: {error.Message}", this);
                Track = null;
                return;
            }
            ResolveBlendshapes();
            PlaybackTime = 0f;
        }

        /// <summary>Looks up each ARKit shape on each renderer again (after changing the map or the meshes).</summary>
        public void ResolveBlendshapes()
        {
            indices.Clear();
            fullWeights.Clear();
            var missingEverywhere = new HashSet<string>(FaceTrack.ArkitNames);
            foreach (var smr in renderers)
            {
                if (smr == null || smr.sharedMesh == null)
                {
                    indices.Add(null);
                    fullWeights.Add(null);
                    continue;
                }
                var mesh = smr.sharedMesh;
                var found = BlendshapeNameMap.Resolve(nameMap, mesh);
                var full = new float[found.Length];
                for (int k = 0; k < found.Length; k++)
                {
                    if (found[k] < 0)
                        continue;
                    missingEverywhere.Remove(FaceTrack.ArkitNames[k]);
                    // Unity's weight for a fully applied shape is its last frame's weight: 100 from FBX, 1 from glTFast.
                    int frames = mesh.GetBlendShapeFrameCount(found[k]);
                    full[k] = fullWeightFromMesh && frames > 0
                        ? mesh.GetBlendShapeFrameWeight(found[k], frames - 1) : weightScale;
                }
                indices.Add(found);
                fullWeights.Add(full);
            }
            if (missingEverywhere.Count == FaceTrack.ShapeCount)
                Debug.LogWarning("FaceTrackPlayer: none of the 52 ARKit shapes was found on the renderers; check the " +
                                 "renderers and the name map (prefix, case, pairs)", this);
            else if (missingEverywhere.Count > 0)
                Debug.Log($"FaceTrackPlayer: {missingEverywhere.Count} ARKit shapes have no blendshape and stay " +
                          $"still: {string.Join(", ", missingEverywhere)}", this);
        }

        public void Play()
        {
            if (Track == null)
            {
                Debug.LogWarning("FaceTrackPlayer: no face track loaded; set Track Asset or Track Path", this);
                return;
            }
            if (PlaybackTime >= Track.Duration)
                PlaybackTime = 0f; // a finished take plays again from the start
            IsPlaying = true;
            if (audioSource != null && audioSource.clip != null)
            {
                audioSource.loop = loop;
                audioSource.pitch = speed;
                audioSource.time = Mathf.Min(PlaybackTime, audioSource.clip.length - 0.001f);
                audioSource.Play();
            }
        }

        public void Pause()
        {
            IsPlaying = false;
            if (audioSource != null)
                audioSource.Pause();
        }

        public void Stop()
        {
            Pause();
            Seek(0f);
        }

        public void Seek(float seconds)
        {
            PlaybackTime = Mathf.Max(0f, seconds);
            if (audioSource != null && audioSource.clip != null)
                audioSource.time = Mathf.Min(PlaybackTime, audioSource.clip.length - 0.001f);
            Apply();
        }

        void Update()
        {
            if (!IsPlaying || Track == null)
                return;
            bool audioClock = audioSource != null && audioSource.clip != null && audioSource.isPlaying;
            if (audioClock)
            {
                // The audio's own clock: samples played, so a hitch in frame rate never slips the lips.
                audioSource.pitch = speed;
                PlaybackTime = audioSource.timeSamples / (float)audioSource.clip.frequency;
            }
            else
            {
                PlaybackTime += UnityEngine.Time.deltaTime * speed;
            }
            if (PlaybackTime >= Track.Duration)
            {
                if (loop && !audioClock)
                    PlaybackTime %= Track.Duration;
                else if (!loop)
                {
                    PlaybackTime = Track.Duration;
                    IsPlaying = audioClock; // hold the last frame until the speech ends
                }
            }
        }

        // After the Animator, so the track wins over any animation on the same blendshapes or bones.
        void LateUpdate()
        {
            if (Track != null && (IsPlaying || PlaybackTime > 0f))
                Apply();
        }

        void Apply()
        {
            if (Track == null)
                return;
            Track.SampleWeights(PlaybackTime, weights);
            for (int r = 0; r < renderers.Length && r < indices.Count; r++)
            {
                var found = indices[r];
                if (found == null)
                    continue;
                var full = fullWeights[r];
                for (int k = 0; k < FaceTrack.ShapeCount; k++)
                    if (found[k] >= 0)
                        renderers[r].SetBlendShapeWeight(found[k], weights[k] * full[k]);
            }
            if (head == null && leftEye == null && rightEye == null)
                return;
            Track.SampleAngles(PlaybackTime, headAngles, gazeAngles);
            Turn(head, headRest, headAngles[0], headAngles[1], headAngles[2]);
            Turn(leftEye, leftEyeRest, gazeAngles[0], gazeAngles[1], 0f);
            Turn(rightEye, rightEyeRest, gazeAngles[2], gazeAngles[3], 0f);
        }

        /// <summary>Our yaw, pitch, roll (radians) as a Unity rotation in the character's frame.</summary>
        public static Quaternion ToUnity(float yaw, float pitch, float roll)
        {
            // Ours: +X is the character's left; Unity's +X is its right when it faces +Z. Mirroring X keeps pitch
            // and flips yaw and roll; Euler(x, y, z) applies z, then x, then y, the order of ours (R = Ry Rx Rz).
            return Quaternion.Euler(pitch * Mathf.Rad2Deg, -yaw * Mathf.Rad2Deg, -roll * Mathf.Rad2Deg);
        }

        void Turn(Transform bone, Quaternion rest, float yaw, float pitch, float roll)
        {
            if (bone == null)
                return;
            // The turn is in the character's frame; carry it into the bone's parent frame so any bone axes work.
            var root = characterRoot.rotation;
            var parent = bone.parent != null ? bone.parent.rotation : Quaternion.identity;
            var turnInWorld = root * ToUnity(yaw, pitch, roll) * Quaternion.Inverse(root);
            var pose = layerOverAnimator ? bone.localRotation : rest;
            bone.localRotation = Quaternion.Inverse(parent) * turnInWorld * parent * pose;
        }
    }
}
