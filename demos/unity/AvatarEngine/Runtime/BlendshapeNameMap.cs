// Which blendshape of a mesh plays each ARKit shape: explicit pairs first, then a naming rule (case, prefix, suffix).
using System;
using System.Collections.Generic;
using System.Text;
using UnityEngine;

namespace AvatarEngine
{
    public enum BlendshapeNameCase
    {
        /// <summary>ARKit's own spelling: eyeBlinkLeft.</summary>
        Arkit,
        /// <summary>EyeBlinkLeft (Live Link Face, many FBX exports).</summary>
        Pascal,
        /// <summary>eyeblinkleft.</summary>
        Lower,
        /// <summary>EYEBLINKLEFT.</summary>
        Upper,
        /// <summary>eye_blink_left.</summary>
        Snake,
    }

    [CreateAssetMenu(fileName = "BlendshapeNameMap", menuName = "Avatar Engine/Blendshape Name Map")]
    public sealed class BlendshapeNameMap : ScriptableObject
    {
        [Serializable]
        public struct Pair
        {
            [Tooltip("ARKit name, any capitalisation, e.g. jawOpen")]
            public string arkit;
            [Tooltip("The mesh's blendshape name; leave empty to leave this ARKit shape unplayed")]
            public string mesh;
        }

        [Tooltip("Text put before every generated name, e.g. 'blendShape1.' for Maya FBX exports")]
        public string prefix = "";
        [Tooltip("Text put after every generated name")]
        public string suffix = "";
        public BlendshapeNameCase nameCase = BlendshapeNameCase.Arkit;
        [Tooltip("Accept a mesh blendshape whose name differs only in capitalisation")]
        public bool ignoreCase = true;
        [Tooltip("Explicit pairs; these win over the naming rule")]
        public List<Pair> pairs = new List<Pair>();

        /// <summary>The blendshape name the rule (or an explicit pair) gives an ARKit shape; null if unplayed.</summary>
        public string MeshNameFor(string arkitName)
        {
            foreach (var pair in pairs)
                if (string.Equals(pair.arkit?.Trim(), arkitName, StringComparison.OrdinalIgnoreCase))
                    return string.IsNullOrEmpty(pair.mesh) ? null : pair.mesh;
            return prefix + ApplyCase(arkitName, nameCase) + suffix;
        }

        /// <summary>An ARKit name written in a naming style.</summary>
        public static string ApplyCase(string arkitName, BlendshapeNameCase style)
        {
            switch (style)
            {
                case BlendshapeNameCase.Pascal:
                    return char.ToUpperInvariant(arkitName[0]) + arkitName.Substring(1);
                case BlendshapeNameCase.Lower:
                    return arkitName.ToLowerInvariant();
                case BlendshapeNameCase.Upper:
                    return arkitName.ToUpperInvariant();
                case BlendshapeNameCase.Snake:
                    var snake = new StringBuilder();
                    foreach (var c in arkitName)
                    {
                        if (char.IsUpper(c) && snake.Length > 0)
                            snake.Append('_');
                        snake.Append(char.ToLowerInvariant(c));
                    }
                    return snake.ToString();
                default:
                    return arkitName;
            }
        }

        /// <summary>
        /// For each of the 52 ARKit shapes, the index of the mesh blendshape that plays it (-1 if none).
        /// Without a map the ARKit spelling is used, ignoring case, which fits our face.glb and ARKit-named rigs.
        /// </summary>
        public static int[] Resolve(BlendshapeNameMap map, Mesh mesh, List<string> missing = null)
        {
            var indices = new int[FaceTrack.ShapeCount];
            Dictionary<string, int> byLowerName = null;
            for (int k = 0; k < FaceTrack.ShapeCount; k++)
            {
                var arkit = FaceTrack.ArkitNames[k];
                var wanted = map != null ? map.MeshNameFor(arkit) : arkit;
                int index = wanted == null ? -1 : mesh.GetBlendShapeIndex(wanted);
                if (index < 0 && wanted != null && (map == null || map.ignoreCase))
                {
                    if (byLowerName == null)
                    {
                        byLowerName = new Dictionary<string, int>();
                        for (int i = 0; i < mesh.blendShapeCount; i++)
                            byLowerName[mesh.GetBlendShapeName(i).ToLowerInvariant()] = i;
                    }
                    if (!byLowerName.TryGetValue(wanted.ToLowerInvariant(), out index))
                        index = -1;
                }
                indices[k] = index;
                if (index < 0 && wanted != null && missing != null)
                    missing.Add(wanted);
            }
            return indices;
        }
    }
}
