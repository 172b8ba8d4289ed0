// Load a GLB with three.js's GLTFLoader, frame the head from the front and render on demand.
// window.viewer = { ready, error, targetNames, setMorph(name, weight), movedBox(name, threshold) }.
import * as THREE from "three";
import { GLTFLoader } from "three/addons/loaders/GLTFLoader.js";

const SIZE = 512;
const viewer = (window.viewer = { ready: false, error: null });
window.addEventListener("error", (e) => { viewer.error = String(e.message); });

const renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
renderer.setPixelRatio(1);
renderer.setSize(SIZE, SIZE);
renderer.setClearColor(0xe6e6e6);
document.body.appendChild(renderer.domElement);

const scene = new THREE.Scene();
scene.add(new THREE.HemisphereLight(0xffffff, 0x808080, 1.6));
const key = new THREE.DirectionalLight(0xffffff, 1.8);
key.position.set(0.5, 0.6, 1.0);
scene.add(key);
const camera = new THREE.PerspectiveCamera(25, 1, 0.01, 100);

function render() { renderer.render(scene, camera); }

// The mesh that carries the morph targets (the export has exactly one).
function morphMesh(root) {
  let found = null;
  root.traverse((o) => { if (o.isMesh && o.morphTargetDictionary && !found) found = o; });
  return found;
}

// Pixel box (x0, y0, x1, y1) of the vertices that `name` moves by more than `threshold` (file units).
function movedBox(mesh, name, threshold) {
  const k = mesh.morphTargetDictionary[name];
  const pos = mesh.geometry.attributes.position;
  const delta = mesh.geometry.morphAttributes.position[k];
  const v = new THREE.Vector3();
  const box = [Infinity, Infinity, -Infinity, -Infinity];
  for (let i = 0; i < pos.count; i++) {
    if (Math.hypot(delta.getX(i), delta.getY(i), delta.getZ(i)) < threshold) continue;
    v.fromBufferAttribute(pos, i).applyMatrix4(mesh.matrixWorld).project(camera);
    const x = (v.x + 1) / 2 * SIZE, y = (1 - v.y) / 2 * SIZE;
    box[0] = Math.min(box[0], x); box[1] = Math.min(box[1], y);
    box[2] = Math.max(box[2], x); box[3] = Math.max(box[3], y);
  }
  return box;
}

const url = new URLSearchParams(location.search).get("glb");
new GLTFLoader().load(url, (gltf) => {
  const root = gltf.scene;
  scene.add(root);
  root.updateMatrixWorld(true);
  const bounds = new THREE.Box3().setFromObject(root);
  const centre = bounds.getCenter(new THREE.Vector3()), size = bounds.getSize(new THREE.Vector3());
  const distance = 0.95 * Math.max(size.x, size.y) / (2 * Math.tan(THREE.MathUtils.degToRad(camera.fov / 2)));
  camera.position.set(centre.x, centre.y, bounds.max.z + distance);  // glTF front is +z
  camera.lookAt(centre);
  camera.updateMatrixWorld(true);
  const mesh = morphMesh(root);
  Object.assign(viewer, {
    targetNames: mesh ? Object.keys(mesh.morphTargetDictionary) : [],
    setMorph(name, weight) {
      mesh.morphTargetInfluences[mesh.morphTargetDictionary[name]] = weight;
      render();
    },
    movedBox: (name, threshold) => movedBox(mesh, name, threshold),
    ready: true,
  });
  render();
}, undefined, (err) => { viewer.error = String(err && err.message || err); });
