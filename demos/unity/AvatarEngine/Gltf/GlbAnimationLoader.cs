// Loads our face.glb or body.glb at runtime with glTFast and plays its animation (legacy Animation component),
// optionally started together with the speech. Compiled only when com.unity.cloud.gltfast is installed: the
// AVATAR_GLTFAST (6.0 and later) and AVATAR_GLTFAST_7 (7.0 and later, which renamed the namespace) defines come from
// the version defines in AvatarEngine.Gltf.asmdef.
#if AVATAR_GLTFAST
using System;
using System.IO;
using System.Threading.Tasks;
#if AVATAR_GLTFAST_7
using Unity.Cloud.Gltfast;
#else
using GLTFast;
#endif
using UnityEngine;

namespace AvatarEngine
{
    [AddComponentMenu("Avatar Engine/GLB Animation Loader")]
    public sealed class GlbAnimationLoader : MonoBehaviour
    {
        [Tooltip("face.glb or body.glb: absolute, or relative to StreamingAssets")]
        public string glbPath = "face.glb";
        public bool loop = true;
        [Range(0.1f, 4f)] public float speed = 1f;
        [Tooltip("Optional: started with the animation, so the speech and the motion begin together")]
        public AudioSource audioSource;

        /// <summary>The legacy Animation component glTFast created for the file's clips (null until loaded).</summary>
        public Animation Animation { get; private set; }

        GltfImport gltf;

        async void Start()
        {
            try
            {
                await LoadAndPlay();
            }
            catch (Exception error)
            {
                Debug.LogError($"GlbAnimationLoader: {error.Message}", this);
            }
        }

        async Task LoadAndPlay()
        {
            var full = Path.IsPathRooted(glbPath) ? glbPath : Path.Combine(Application.streamingAssetsPath, glbPath);
            if (!File.Exists(full))
                throw new FileNotFoundException($"'{full}' does not exist; export it with `avatar render` or " +
                                                "`avatar export … --formats glb`");
            gltf = new GltfImport();
            // Legacy clips: AnimationClip.SetCurve only works at runtime for legacy clips (Mecanim is editor-only).
            var settings = new ImportSettings { AnimationMethod = AnimationMethod.Legacy };
            if (!await gltf.LoadFile(full, new Uri(full), settings))
                throw new InvalidDataException($"glTFast could not load '{full}' (see its log above)");
            var instantiator = new GameObjectInstantiator(gltf, transform);
            if (!await gltf.InstantiateMainSceneAsync(instantiator))
                throw new InvalidDataException($"glTFast could not instantiate the scene of '{full}'");
            Animation = instantiator.SceneInstance?.LegacyAnimation;
            if (Animation == null || Animation.clip == null)
                throw new InvalidDataException($"'{full}' has no animation; was it written by avatar's exporter?");
            foreach (AnimationState state in Animation)
            {
                state.wrapMode = loop ? WrapMode.Loop : WrapMode.ClampForever;
                state.speed = speed;
            }
            Animation.Play(Animation.clip.name);
            if (audioSource != null && audioSource.clip != null)
            {
                audioSource.loop = loop;
                audioSource.pitch = speed;
                audioSource.Play();
            }
        }

        void OnDestroy()
        {
            gltf?.Dispose();
        }
    }
}
#endif
